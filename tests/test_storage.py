"""Storage: migrations, saving entries once, and newest-first pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import inspect, select

from extractors.entry import Entry
from storage.database import current_revision, head_revision
from storage.items import Cursor, latest_items, next_cursor, save_entries
from storage.models import Item
from storage.sources import sync_sources

NOW = datetime(2026, 11, 5, 12, 0, tzinfo=UTC)


def _source(runtime, source_id: str = "wien") -> None:
    with runtime.sessions() as session:
        sync_sources(
            session,
            [{"id": source_id, "name": "Wien", "kind": "feed",
              "url": "https://w.example/rss", "publisher": "municipality",
              "country": "AT", "languages": ["de"]}],
            NOW,
        )  # fmt: skip
        session.commit()


def _entry(n: int, **changes: object) -> Entry:
    values: dict[str, object] = {
        "title": f"Meldung {n}",
        "link": f"https://w.example/{n}",
        "guid": f"guid-{n}",
        "published": NOW - timedelta(hours=n),
    }
    values.update(changes)
    return Entry(**values)  # type: ignore[arg-type]


def test_upgrade_creates_the_tables_at_the_head_revision(runtime):
    tables = set(inspect(runtime.engine).get_table_names())

    assert {"sources", "fetch_log", "items"} <= tables
    assert current_revision(runtime.engine) == head_revision()


def test_upgrade_twice_changes_nothing(runtime):
    runtime.upgrade()

    assert current_revision(runtime.engine) == head_revision()


def test_saving_the_same_entries_twice_stores_them_once(runtime):
    _source(runtime)
    entries = [_entry(1), _entry(2)]

    with runtime.sessions() as session:
        first = save_entries(session, "wien", entries, NOW)
        session.commit()
    with runtime.sessions() as session:
        second = save_entries(session, "wien", entries, NOW + timedelta(hours=1))
        session.commit()
        count = len(session.scalars(select(Item)).all())

    assert (first.new, second.new, second.updated, count) == (2, 0, 0, 2)


def test_same_guid_listed_twice_in_one_feed_is_one_item(runtime):
    _source(runtime)

    with runtime.sessions() as session:
        result = save_entries(session, "wien", [_entry(1), _entry(1)], NOW)
        session.commit()

    assert result.new == 1


def test_missing_date_is_first_seen_and_future_date_is_clamped(runtime):
    _source(runtime)
    entries = [
        _entry(1, published=None),
        _entry(2, published=NOW + timedelta(days=30)),
    ]

    with runtime.sessions() as session:
        save_entries(session, "wien", entries, NOW)
        session.commit()
        stored = {i.guid: i.published_at for i in session.scalars(select(Item))}

    assert stored == {"guid-1": NOW, "guid-2": NOW}


def test_times_come_back_as_utc_on_every_database(runtime):
    _source(runtime)
    vienna = datetime(2026, 11, 3, 10, 30, tzinfo=ZoneInfo("Europe/Vienna"))

    with runtime.sessions() as session:
        save_entries(session, "wien", [_entry(1, published=vienna)], NOW)
        session.commit()
    with runtime.sessions() as session:
        published = session.scalars(select(Item.published_at)).one()

    assert published == datetime(2026, 11, 3, 9, 30, tzinfo=UTC)
    assert published.utcoffset() == timedelta(0)


def test_pages_stay_stable_when_new_items_arrive(runtime):
    _source(runtime)
    with runtime.sessions() as session:
        save_entries(session, "wien", [_entry(n) for n in range(1, 6)], NOW)
        session.commit()
        first_page = latest_items(session, 2)
        cursor = next_cursor(first_page, 2)
        save_entries(session, "wien", [_entry(0, published=NOW)], NOW)
        session.commit()
        second_page = latest_items(session, 2, before=cursor)

    assert [i.title for i in first_page] == ["Meldung 1", "Meldung 2"]
    assert [i.title for i in second_page] == ["Meldung 3", "Meldung 4"]


@pytest.mark.parametrize("text", ["", "abc", "12-", "-3", "1.5-2"])
def test_damaged_cursor_decodes_to_none(text):
    assert Cursor.decode(text) is None


def test_cursor_round_trips():
    cursor = Cursor(datetime(2026, 11, 3, 9, 30, 0, 123456, tzinfo=UTC), 42)

    assert Cursor.decode(cursor.encode()) == cursor
