"""ETag, Last-Modified, Cache-Control and 304 answers on feeds, pages and API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from test_browse import client  # noqa: F401 (the portal of the region pages)

import storage.items
from extractors.entry import Entry
from publisher.caching import entity_tag, is_unmodified_since, matches_any
from storage.classification import RegionDecision, store_classification
from storage.items import save_entries
from storage.models import Item, Source
from storage.stories import latest_stories, merge_stories

NOW = datetime.now(UTC).replace(microsecond=0)
TOPIC = "mobility-transport"
FEEDS = [
    "/feeds/all.atom", "/feeds/all.rss", "/feeds/all.json",
    "/feeds/regions/CZ.atom", f"/feeds/topics/{TOPIC}.rss",
    "/feeds/sources/brno.json", "/feeds/all.atom?lang=de", "/sources.opml",
]  # fmt: skip
PAGES = [
    "/", "/regions/CZ", f"/topics/{TOPIC}", "/sources", "/de/regions/CZ064",
    "/api/v1/items", "/api/v1/sources",
]  # fmt: skip


def _entry(title: str, link: str, language: str, hours: int) -> Entry:
    return Entry(
        title=title,
        link=link,
        summary=f"{title}. Die Stadt baut eine neue Straßenbahnlinie.",
        language=language,
        published=NOW - timedelta(hours=hours),
    )


class StillClock:
    """A clock that stays put, so the sources page's health step never turns
    over between two requests of a test."""

    def now(self) -> datetime:
        return NOW


@pytest.fixture
def portal(client, runtime):  # noqa: F811 (the fixture imported above)
    """The portal of the region page tests, with a second item from Vienna."""
    with runtime.sessions() as session:
        save_entries(session, "wien", [
            _entry("Bäderöffnung im Sommer", "https://wien.example/2", "de", 3),
        ], NOW)  # fmt: skip
        session.commit()
    runtime.place_waiting()
    runtime.classify_waiting()
    runtime.clock = StillClock()
    with TestClient(runtime.web_app()) as portal:
        portal.runtime = runtime
        yield portal


def _story_id(runtime, link: str) -> int:
    with runtime.sessions() as session:
        return session.scalar(select(Item.story_id).where(Item.url == link))


def test_every_feed_page_and_api_answer_carries_validators(portal):
    story = f"/stories/{_story_id(portal.runtime, 'https://brno.example/1')}"
    for path in [*FEEDS, *PAGES, story]:
        answer = portal.get(path)

        assert answer.status_code == 200, path
        assert answer.headers["etag"].startswith('W/"'), path
        assert parsedate_to_datetime(answer.headers["last-modified"]) <= datetime.now(
            UTC
        )
        if path.startswith(("/feeds/", "/sources.opml")):
            expected = "public, max-age=300"
        elif path.startswith("/api/"):
            expected = "public, max-age=60"
        else:
            expected = "public, no-cache"
        assert answer.headers["cache-control"] == expected, path


def test_a_conditional_request_is_answered_304_with_no_body(portal):
    for path in [*FEEDS, *PAGES]:
        first = portal.get(path)
        etag, modified = first.headers["etag"], first.headers["last-modified"]

        again = portal.get(path, headers={"If-None-Match": f'"x", {etag}'})
        since = portal.get(path, headers={"If-Modified-Since": modified})
        # If-None-Match wins: a tag that does not match means a full answer.
        both = portal.get(
            path, headers={"If-None-Match": '"other"', "If-Modified-Since": modified}
        )

        assert again.status_code == 304, path
        assert again.content == b""
        assert again.headers["etag"] == etag
        assert again.headers["cache-control"] == first.headers["cache-control"]
        assert "Accept-Encoding" in again.headers["vary"]
        assert since.status_code == 304, path
        assert both.status_code == 200 and both.content == first.content, path


def test_if_none_match_star_holds_only_for_what_exists(portal):
    star = {"If-None-Match": "*"}
    missing = portal.get("/stories/999999", headers=star)

    assert portal.get("/feeds/all.rss", headers=star).status_code == 304
    assert portal.get("/feeds/all.rss", headers=star).status_code == 304
    assert missing.status_code == 404 and "etag" not in missing.headers


def test_gzip_answers_and_their_replays_carry_the_same_validator(portal):
    plain = portal.get("/feeds/all.atom", headers={"Accept-Encoding": "identity"})
    packed = portal.get("/feeds/all.atom", headers={"Accept-Encoding": "gzip"})
    replayed = portal.get("/feeds/all.atom", headers={"Accept-Encoding": "gzip"})

    assert "content-encoding" not in plain.headers
    assert packed.headers["content-encoding"] == "gzip"
    assert plain.headers["etag"] == packed.headers["etag"] == replayed.headers["etag"]
    assert packed.content == replayed.content == plain.content
    assert "Accept-Encoding" in packed.headers["vary"]


def test_a_new_item_changes_every_validator(portal):
    before = {path: portal.get(path).headers["etag"] for path in ["/", *FEEDS]}

    with portal.runtime.sessions() as session:
        later = NOW + timedelta(seconds=5)
        save_entries(session, "brno", [
            _entry("Nové parkoviště u nádraží", "https://brno.example/2", "cs", 0),
        ], later)  # fmt: skip
        session.commit()

    for path, etag in before.items():
        answer = portal.get(path, headers={"If-None-Match": etag})
        assert answer.status_code == 200, path
        assert answer.headers["etag"] != etag


def test_a_reclassified_item_changes_the_region_page_and_feed(portal):
    paths = ["/regions/CZ064", "/feeds/regions/AT.atom", f"/topics/{TOPIC}"]
    before = {path: portal.get(path).headers["etag"] for path in paths}

    with portal.runtime.sessions() as session:
        item = session.scalar(select(Item).where(Item.url == "https://wien.example/2"))
        region = RegionDecision("CZ064", "nuts3", "CZ", "editor", "moved by a test")
        store_classification(session, item, [region], [], NOW + timedelta(minutes=1))
        session.commit()

    for path, etag in before.items():
        assert portal.get(path, headers={"If-None-Match": etag}).status_code == 200


def test_a_story_change_changes_the_story_page_and_the_feeds(portal):
    kept = _story_id(portal.runtime, "https://wien.example/1")
    merged = _story_id(portal.runtime, "https://wien.example/2")
    paths = [f"/stories/{kept}", "/feeds/all.atom", "/"]
    before = {path: portal.get(path).headers["etag"] for path in paths}

    with portal.runtime.sessions() as session:
        merge_stories(session, kept, merged, NOW + timedelta(minutes=2), "a test")
        session.commit()

    for path, etag in before.items():
        assert portal.get(path, headers={"If-None-Match": etag}).status_code == 200


def test_a_fetch_changes_the_sources_page_but_not_the_feeds(portal):
    paths = ["/sources", "/api/v1/sources", "/feeds/all.atom", "/regions/CZ"]
    before = {path: portal.get(path).headers["etag"] for path in paths}

    with portal.runtime.sessions() as session:
        source = session.get(Source, "brno")
        source.last_fetched_at = NOW + timedelta(minutes=3)
        session.commit()

    answers = {
        path: portal.get(path, headers={"If-None-Match": etag}).status_code
        for path, etag in before.items()
    }
    assert answers == {
        "/sources": 200, "/api/v1/sources": 200,
        "/feeds/all.atom": 304, "/regions/CZ": 304,
    }  # fmt: skip


def test_each_interface_locale_has_its_own_validator(portal):
    english = portal.get("/regions/CZ")
    german = portal.get("/de/regions/CZ")
    french = portal.get("/regions/CZ", headers={"Accept-Language": "fr-FR"})

    tags = {answer.headers["etag"] for answer in (english, german, french)}
    assert len(tags) == 3
    assert "Accept-Language" in french.headers["vary"]
    stale = portal.get("/regions/CZ", headers={"If-None-Match": german.headers["etag"]})
    assert stale.status_code == 200


def test_editor_pages_are_never_stored(portal):
    login = portal.get("/editor/login")
    signed_out = portal.get("/editor/", follow_redirects=False)

    for answer in (login, signed_out):
        assert answer.headers["cache-control"] == "private, no-store"
        assert "etag" not in answer.headers


NARROWED = [
    {"region": "CZ"}, {"region": "AT"}, {"topic": TOPIC}, {"language": "de"},
    {"region": "CZ", "topic": TOPIC}, {"source_id": "wien", "region": "AT"},
]  # fmt: skip


def test_common_and_rare_regions_list_the_same_stories(portal, monkeypatch):
    with portal.runtime.sessions() as session:
        rare = [latest_stories(session, 10, **narrowed) for narrowed in NARROWED]
        # Every region counts as common: walked newest first, looked up.
        monkeypatch.setattr(storage.items, "_COMMON_LEAST", 0)
        common = [latest_stories(session, 10, **narrowed) for narrowed in NARROWED]

    assert all(rare)
    assert [[item.id for item in found] for found in rare] == [
        [item.id for item in found] for found in common
    ]


def test_weak_comparison_and_dates_follow_rfc_9110():
    tag = entity_tag(["a"])

    assert matches_any(tag, tag)
    assert matches_any(f'"nope", {tag[2:]}', tag)
    assert not matches_any('"nope"', tag)
    moment = datetime(2026, 12, 4, 9, 0, 0, 500_000, tzinfo=UTC)
    assert is_unmodified_since("Fri, 04 Dec 2026 09:00:00 GMT", moment)
    assert not is_unmodified_since("Fri, 04 Dec 2026 08:59:59 GMT", moment)
    assert not is_unmodified_since("not a date", moment)
