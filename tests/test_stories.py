"""Stories in storage: the migration, headlines, editors' splits and merges,
and the newest stories for feeds.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from aggregator.dedup import assign_stories
from extractors.entry import Entry
from storage.database import make_engine, upgrade_database
from storage.items import save_entries
from storage.models import Item, Story, StoryDecision
from storage.sources import sync_sources
from storage.stories import (
    StoryError,
    latest_stories,
    merge_stories,
    split_item,
    story_items,
)
from tests.releases import NOW, SOURCES, add_sources, release, store


def _entry(source: str, n: int, name: str, published: datetime, **changes) -> Entry:
    title, body = release(name)
    values = {
        "title": title,
        "link": f"https://{source}.example/news/{n}",
        "guid": f"{source}-{n}",
        "summary": body,
        "published": published,
        "language": "en",
    }
    values.update(changes)
    return Entry(**values)


def _item(session, guid: str) -> Item:
    return session.scalar(select(Item).where(Item.guid == guid))


@pytest.fixture
def sources(runtime):
    return add_sources(runtime)


@pytest.fixture
def one_release(sources):
    """The Commission's release and two municipalities' copies of it."""
    name = "ip_26_2101_en.txt"
    store(
        sources, "commission", [_entry("commission", 1, name, NOW - timedelta(hours=5))]
    )
    store(sources, "torun", [_entry("torun", 1, name, NOW - timedelta(hours=3))])
    store(sources, "braga", [_entry("braga", 1, name, NOW - timedelta(hours=2))])
    return sources


def test_migration_gives_every_existing_item_a_story_of_its_own(database_url):
    engine = make_engine(database_url)
    upgrade_database(engine, "0005")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO sources (id, name, kind, url, publisher, languages, "
                "state, created_at, updated_at, consecutive_failures) VALUES "
                "('wien', 'Wien', 'feed', 'https://w.example/rss', 'municipality', "
                "'[]', 'active', :now, :now, 0)"
            ),
            {"now": NOW},
        )
        for n in (1, 2, 3):
            connection.execute(
                text(
                    "INSERT INTO items (source_id, entry_key, url, title, summary, "
                    "content_html, authors, categories, published_at, first_seen_at, "
                    "content_hash) VALUES ('wien', :key, :url, :title, '', '', '[]', "
                    "'[]', :now, :now, 'h')"
                ),
                {"key": f"k{n}", "url": f"https://w.example/{n}", "title": f"T{n}",
                 "now": NOW},
            )  # fmt: skip

    upgrade_database(engine)

    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT items.id, items.story_id, items.story_role, "
                "stories.headline_item_id FROM items "
                "JOIN stories ON stories.id = items.story_id ORDER BY items.id"
            )
        ).all()
        stories = connection.execute(text("SELECT COUNT(*) FROM stories")).scalar()
    engine.dispose()
    assert stories == 3
    assert [(row[0] == row[1] == row[3], row[2]) for row in rows] == [
        (True, "headline")
    ] * 3


def test_headline_is_the_original_credited_by_the_copies(one_release):
    with one_release.sessions() as session:
        commission = _item(session, "commission-1")
        items = story_items(session, commission.story_id)

    assert items[0].guid == "commission-1"
    assert {item.story_role for item in items[1:]} == {"copy"}


def test_credited_institution_wins_over_an_earlier_republisher(sources):
    name = "ip_26_2117_en.txt"
    _, body = release(name)
    credit = "Source: European Commission. " + body
    store(
        sources,
        "torun",
        [_entry("torun", 1, name, NOW - timedelta(hours=9), summary=credit)],
    )
    store(
        sources, "commission", [_entry("commission", 1, name, NOW - timedelta(hours=4))]
    )

    with sources.sessions() as session:
        torun = _item(session, "torun-1")
        headline = session.get(Story, torun.story_id).headline_item_id

        assert headline == _item(session, "commission-1").id


def test_without_credit_the_earliest_item_is_the_headline(sources):
    name = "ip_26_2130_en.txt"
    store(sources, "torun", [_entry("torun", 1, name, NOW - timedelta(hours=9))])
    store(sources, "braga", [_entry("braga", 1, name, NOW - timedelta(hours=4))])

    with sources.sessions() as session:
        torun = _item(session, "torun-1")

        assert session.get(Story, torun.story_id).headline_item_id == torun.id
        assert _item(session, "braga-1").story_role == "copy"


def test_split_item_gets_its_own_story_and_never_rejoins(one_release):
    with one_release.sessions() as session:
        torun = _item(session, "torun-1")
        old = torun.story_id
        new = split_item(session, torun.id, NOW, editor="anna")
        session.commit()

    # Toruń edits its copy (a new word): dedup sees it again, and the split holds.
    edited = _entry(
        "torun", 1, "ip_26_2101_en.txt", NOW - timedelta(hours=3), title="Clean buses!"
    )
    store(one_release, "torun", [edited])

    with one_release.sessions() as session:
        torun = _item(session, "torun-1")
        decision = session.scalar(select(StoryDecision))
        assert torun.story_id == new != old
        assert torun.story_role == "headline"
        assert (decision.kind, decision.story_id, decision.editor) == (
            "split",
            old,
            "anna",
        )
        assert _item(session, "braga-1").story_id == old


def test_later_copy_of_a_split_item_joins_a_story_but_not_the_split_one_for_it(
    one_release,
):
    with one_release.sessions() as session:
        torun = _item(session, "torun-1")
        old = torun.story_id
        split_item(session, torun.id, NOW)
        session.commit()

    # A third municipality publishes the release too: it joins the original.
    later = _entry("braga", 2, "ip_26_2101_en.txt", NOW - timedelta(hours=1))
    store(one_release, "braga", [later])

    with one_release.sessions() as session:
        assert _item(session, "braga-2").story_id == old


def test_split_of_an_item_alone_in_its_story_is_refused(sources):
    store(sources, "torun", [_entry("torun", 1, "wien_rathaus.txt", NOW)])

    with sources.sessions() as session, pytest.raises(StoryError, match="alone"):
        split_item(session, _item(session, "torun-1").id, NOW)


def test_merge_moves_every_item_and_keeps_them_together(sources):
    store(sources, "commission", [_entry("commission", 1, "ip_26_2117_en.txt", NOW)])
    store(sources, "torun", [_entry("torun", 1, "wien_rathaus.txt", NOW)])
    with sources.sessions() as session:
        kept = _item(session, "commission-1").story_id
        merged = _item(session, "torun-1").story_id
        merge_stories(session, kept, merged, NOW, editor="anna")
        session.commit()

    # An edit to the merged item does not take it out of the merged story.
    store(sources, "torun", [_entry("torun", 1, "wien_rathaus.txt", NOW, title="X")])

    with sources.sessions() as session:
        assert _item(session, "torun-1").story_id == kept
        assert session.get(Story, merged) is None
        roles = sorted(item.story_role for item in story_items(session, kept))
        assert roles == ["copy", "headline"]
        assert session.scalar(select(func.count()).select_from(StoryDecision)) == 1


def test_merge_of_a_story_with_itself_is_refused(one_release):
    with one_release.sessions() as session:
        story = _item(session, "torun-1").story_id
        with pytest.raises(StoryError, match="itself"):
            merge_stories(session, story, story, NOW)


def test_latest_stories_lists_each_story_once_and_versions_by_language(one_release):
    fr = _entry(
        "commission", 2, "ip_26_2101_fr.txt", NOW - timedelta(hours=4), language="fr"
    )
    store(one_release, "commission", [fr])
    store(one_release, "braga", [_entry("braga", 9, "wien_rathaus.txt", NOW)])

    with one_release.sessions() as session:
        every = [item.guid for item in latest_stories(session)]
        french = [item.guid for item in latest_stories(session, language="fr")]
        torun = [item.guid for item in latest_stories(session, source_id="torun")]

    assert every == ["braga-9", "commission-1"]
    assert french == ["commission-2"]
    assert torun == ["torun-1"]


def test_a_source_added_during_the_session_is_credited_too(runtime):
    # The names of the sources are read once a session; a source that
    # appears later in the same session must still be found in the texts.
    name = "ip_26_2117_en.txt"
    _, body = release(name)
    credit = "Source: European Commission. " + body
    with runtime.sessions() as session:
        sync_sources(session, [s for s in SOURCES if s["id"] != "commission"], NOW)
        save_entries(
            session,
            "torun",
            [_entry("torun", 1, name, NOW - timedelta(hours=9), summary=credit)],
            NOW,
        )
        assign_stories(session, "torun", runtime.settings, NOW)

        sync_sources(session, SOURCES, NOW)
        commission = _entry("commission", 1, name, NOW - timedelta(hours=4))
        save_entries(session, "commission", [commission], NOW)
        assign_stories(session, "commission", runtime.settings, NOW)
        session.commit()

        torun = _item(session, "torun-1")
        headline = session.get(Story, torun.story_id).headline_item_id

        assert headline == _item(session, "commission-1").id
