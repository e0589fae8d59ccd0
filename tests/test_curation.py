"""Curation: trust gates publication on every public surface; the review
queue; hiding, featuring, corrected titles, regions and topics, splits and
merges; every action audited with before and after."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import feedparser
import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from test_editors import PASSWORD, SetClock, _form_token, _login

from aggregator.classification import classify_waiting_items
from aggregator.runtime import Runtime
from extractors.entry import Entry
from publisher.auth import Passwords
from storage.editors import add_editor
from storage.items import save_entries
from storage.models import AuditEntry, Item, ItemRegionRow, ItemTopicRow, Source
from storage.publication import apply_trust
from storage.regions import upsert_regions
from storage.sources import sync_sources

START = datetime(2026, 11, 5, 12, 0, tzinfo=UTC)
SOURCES = [
    {"id": "wien", "name": "Stadt Wien", "kind": "feed", "url": "https://w.example/rss",
     "publisher": "municipality", "country": "AT", "region": "AT130",
     "languages": ["de"]},
    {"id": "graz", "name": "Stadt Graz", "kind": "feed", "url": "https://g.example/rss",
     "publisher": "municipality", "country": "AT", "region": "AT221",
     "languages": ["de"]},
    {"id": "linz", "name": "Stadt Linz", "kind": "feed", "url": "https://l.example/rss",
     "publisher": "municipality", "country": "AT", "region": "AT312",
     "languages": ["de"]},
]  # fmt: skip
TITLES = {
    "wien": ["Wien baut die Straßenbahn aus", "Neue Buslinie in Wien"],
    "graz": ["Graz verlängert die Tramlinie", "Graz plant neue Radwege"],
    "linz": ["Linz erneuert den Bahnhof"],
}
TEXT = "Die Stadt baut Straßenbahn und Bus aus; der öffentliche Verkehr {n} wächst."
# The part of the region tree the pages name, as 'regions import' stores it.
REGIONS = [
    {"code": code, "parent": parent, "level": level, "country": "AT", "name": name,
     "names": [], "population": None, "path": path, "replaces": None,
     "origin": "gazetteer"}
    for code, parent, level, name, path in [
        ("AT", "EU", "country", "Österreich", "EU/AT/"),
        ("AT130", "AT13", "nuts3", "Wien", "EU/AT/AT1/AT13/AT130/"),
        ("AT221", "AT22", "nuts3", "Graz", "EU/AT/AT2/AT22/AT221/"),
    ]
]  # fmt: skip
SURFACES = (
    "/", "/regions/AT", "/topics/mobility-transport", "/feeds/all.atom",
    "/feeds/all.rss", "/feeds/all.json", "/feeds/regions/AT.atom",
    "/feeds/topics/mobility-transport.rss", "/api/v1/items",
)  # fmt: skip


@pytest.fixture
def portal(settings, classifiers):
    runtime = Runtime.build(settings, SetClock(START), classifiers)
    runtime.upgrade()
    hashes = Passwords()
    with runtime.sessions() as session:
        sync_sources(session, SOURCES, START)
        session.get(Source, "graz").trust = "new"
        session.get(Source, "linz").trust = "held"
        for source_id, titles in TITLES.items():
            save_entries(session, source_id, _entries(source_id, titles), START)
        add_editor(session, "ed@town.example", hashes.hash(PASSWORD), "editor", START)
        upsert_regions(session, REGIONS)
        session.commit()
    runtime.place_waiting()
    runtime.classify_waiting()
    yield runtime
    runtime.close()


@pytest.fixture
def editor(portal):
    with TestClient(portal.web_app()) as client:
        _login(client, "ed@town.example")
        client.headers["x-token"] = _form_token(client, "/editor/")
        yield client


def _entries(source_id: str, titles: list[str]) -> list[Entry]:
    return [
        Entry(
            title=title, link=f"https://{source_id}.example/{n}", language="de",
            summary=TEXT.format(n=f"{source_id} {n}"),
            published=START - timedelta(hours=n + 1),
        )
        for n, title in enumerate(titles)
    ]  # fmt: skip


def _id(portal: Runtime, title: str) -> int:
    with portal.sessions() as session:
        return session.scalar(select(Item.id).where(Item.title == title))


def _story(portal: Runtime, title: str) -> int:
    with portal.sessions() as session:
        return session.scalar(select(Item.story_id).where(Item.title == title))


def _post(client: TestClient, path: str, **data):
    data = {"csrf_token": client.headers["x-token"], **data}
    response = client.post(path, data=data, follow_redirects=False)
    assert response.status_code == 303, response.text
    return response


def _titles(client: TestClient, path: str) -> set[str]:
    """The titles a reader sees at ``path``: a page, a feed or the API."""
    response = client.get(path)
    assert response.status_code == 200, path
    if path.startswith("/api/") or path.endswith(".json"):
        return {item["title"] for item in response.json()["items"]}
    if path.startswith("/feeds/"):
        return {entry.title for entry in feedparser.parse(response.content).entries}
    page = BeautifulSoup(response.text, "lxml")
    return {a.get_text() for a in page.select("main article h2 a")}


def _everywhere(client: TestClient) -> dict[str, set[str]]:
    return {path: _titles(client, path) for path in SURFACES}


def _audit(portal: Runtime, action: str) -> list[AuditEntry]:
    with portal.sessions() as session:
        query = select(AuditEntry).where(AuditEntry.action == action)
        return list(session.scalars(query.order_by(AuditEntry.id)))


def test_trust_decides_what_is_published_on_every_public_surface(portal, editor):
    trusted = set(TITLES["wien"])

    seen = _everywhere(editor)

    assert seen == {path: trusted for path in SURFACES}
    with portal.sessions() as session:
        states = dict(session.execute(select(Item.title, Item.review)).all())
    assert {states[t] for t in TITLES["graz"]} == {"pending"}
    assert states["Linz erneuert den Bahnhof"] == "held"
    for title in (*TITLES["graz"], "Linz erneuert den Bahnhof"):
        assert editor.get(f"/stories/{_story(portal, title)}").status_code == 404
        assert editor.get(f"/api/v1/items/{_id(portal, title)}").status_code == 404
    assert _titles(editor, "/feeds/sources/graz.atom") == set()
    assert _titles(editor, "/regions/AT221") == set()


def test_approving_and_rejecting_many_at_once_publishes_and_is_audited(portal, editor):
    queue = BeautifulSoup(editor.get("/editor/review").text, "lxml")
    waiting = {li.select_one("strong").text: li for li in queue.select("ol.queue > li")}
    first, second = TITLES["graz"]

    assert set(waiting) == {first, second}
    why = waiting[first].select_one("dl.why").get_text(" ", strip=True)
    assert "AT221 (source: region AT221)" in why
    assert "mobility-transport (rules" in why
    narrowed = editor.get("/editor/review?source=wien&lang=de").text
    assert 'ol class="queue"' not in narrowed

    ids = [_id(portal, first), _id(portal, second)]
    _post(editor, "/editor/review", decision="approve", item_id=ids)

    assert set(TITLES["graz"]) <= _titles(editor, "/regions/AT221")
    assert all(set(TITLES["graz"]) <= seen for seen in _everywhere(editor).values())
    audit = _audit(portal, "item.approve")
    assert [(e.subject_id, e.before, e.after) for e in audit] == [
        (str(i), {"review": "pending"}, {"review": "published"}) for i in sorted(ids)
    ]
    assert audit[0].actor == "ed@town.example"

    _post(editor, "/editor/review", decision="reject", item_id=[ids[1]])
    assert second not in _titles(editor, "/feeds/all.json")
    [rejected] = _audit(portal, "item.reject")
    assert (rejected.before, rejected.after) == (
        {"review": "published"},
        {"review": "rejected"},
    )
    sources = BeautifulSoup(editor.get("/editor/").text, "lxml")
    assert sources.select_one("#source-graz td.rejected").text.strip() == "50 %"
    assert sources.select_one("#source-graz td.activity")["title"].split()[-1] == "2"


def test_trust_change_applies_to_items_no_editor_decided_on(portal, editor):
    first, second = TITLES["graz"]
    _post(editor, "/editor/review", decision="reject", item_id=[_id(portal, first)])

    _post(editor, "/editor/sources/graz", action="trust", trust="trusted")
    with portal.sessions() as session:
        states = dict(session.execute(select(Item.title, Item.review)).all())
    _post(editor, "/editor/sources/wien", action="trust", trust="held")

    assert (states[first], states[second]) == ("rejected", "published")
    assert _titles(editor, "/") == {second}
    [entry] = _audit(portal, "source.trust")[:1]
    assert (entry.before["trust"], entry.after["trust"]) == ("new", "trusted")


def test_hiding_an_item_or_a_story_takes_it_off_everywhere_until_shown_again(
    portal, editor
):
    tram, bus = TITLES["wien"]
    item, story = _id(portal, tram), _story(portal, bus)

    _post(editor, f"/editor/items/{item}", action="hide")
    _post(editor, f"/editor/stories/{story}", action="hide")
    hidden = _everywhere(editor)
    _post(editor, f"/editor/items/{item}", action="unhide")
    _post(editor, f"/editor/stories/{story}", action="unhide")

    assert hidden == {path: set() for path in SURFACES}
    assert editor.get(f"/stories/{story}").status_code == 200
    assert all(seen == {tram, bus} for seen in _everywhere(editor).values())
    [hide] = _audit(portal, "item.hide")
    assert hide.before == {"hidden_at": None}
    assert hide.after == {"hidden_at": START.isoformat()}
    [shown] = _audit(portal, "story.unhide")
    assert (shown.before, shown.after) == (
        {"hidden_at": START.isoformat()},
        {"hidden_at": None},
    )


def test_a_corrected_title_is_shown_everywhere_and_the_original_kept(portal, editor):
    tram = TITLES["wien"][0]
    item = _id(portal, tram)

    _post(editor, f"/editor/items/{item}", action="title", title="Tram  line 5 ")

    assert all("Tram line 5" in seen for seen in _everywhere(editor).values())
    story = BeautifulSoup(editor.get(f"/stories/{_story(portal, tram)}").text, "lxml")
    assert story.h1.text == "Tram line 5"
    assert editor.get(f"/api/v1/items/{item}").json()["source_title"] == tram
    [entry] = _audit(portal, "item.title")
    assert entry.before["corrected_title"] is None
    assert entry.after == {"corrected_title": "Tram line 5", "title": tram}


def test_a_featured_story_shows_on_its_page_only_while_the_feature_lasts(
    portal, editor
):
    bus = TITLES["wien"][1]
    story = _story(portal, bus)

    _post(editor, f"/editor/stories/{story}", action="feature", until="2026-11-06")
    _post(editor, f"/editor/stories/{story}", action="feature", place="AT221",
          until="2026-11-30")  # fmt: skip
    home = BeautifulSoup(editor.get("/").text, "lxml").select(".featured li a")
    graz = BeautifulSoup(editor.get("/regions/AT221").text, "lxml")
    vienna = BeautifulSoup(editor.get("/regions/AT130").text, "lxml")
    features = _audit(portal, "story.feature")
    _post(editor, f"/editor/stories/{story}", action="unfeature",
          feature_id=features[1].after["feature"])  # fmt: skip
    ended_early = BeautifulSoup(editor.get("/regions/AT221").text, "lxml")
    portal.clock.moment = START + timedelta(days=2)
    later = BeautifulSoup(editor.get("/").text, "lxml")

    assert [a.text for a in home] == [bus]
    assert [a.text for a in graz.select(".featured li a")] == [bus]
    assert vienna.select(".featured") == []
    assert ended_early.select(".featured") == []
    assert later.select(".featured") == []
    assert [e.after["place"] for e in features] == ["home", "AT221"]
    assert features[0].after["until"] == "2026-11-07T00:00:00+00:00"
    [ended] = _audit(portal, "story.unfeature")
    assert ended.before["ended_at"] is None and ended.after["ended_at"]


def test_corrected_regions_and_topics_move_the_item_and_outlast_the_classifiers(
    portal, editor
):
    tram = TITLES["wien"][0]
    item = _id(portal, tram)

    _post(editor, f"/editor/items/{item}", action="regions", regions="AT221")
    _post(editor, f"/editor/items/{item}", action="topics", topic=["sport"])
    with portal.sessions() as session:
        session.execute(update(Item).values(classified_at=None))
        classify_waiting_items(session, portal.classifiers(), START)
        session.commit()
        regions = set(
            session.execute(
                select(ItemRegionRow.code, ItemRegionRow.reason).where(
                    ItemRegionRow.item_id == item
                )
            )
        )
        topics = set(
            session.execute(
                select(ItemTopicRow.slug, ItemTopicRow.reason).where(
                    ItemTopicRow.item_id == item
                )
            )
        )

    assert regions == {(c, "editor") for c in ("AT221", "AT22", "AT2", "AT")}
    assert topics == {("sport", "editor")}
    assert tram in _titles(editor, "/regions/AT221")
    assert tram in _titles(editor, "/feeds/regions/AT221.atom")
    assert tram not in _titles(editor, "/regions/AT130")
    assert tram in _titles(editor, "/topics/sport")
    [moved] = _audit(portal, "item.regions")
    assert {"AT", "AT1", "AT13", "AT130"} <= set(moved.before["regions"])
    assert moved.after["regions"] == ["AT", "AT2", "AT22", "AT221"]
    [retopic] = _audit(portal, "item.topics")
    assert retopic.before == {"topics": ["mobility-transport"]}

    bad = editor.post(
        f"/editor/items/{item}",
        data={"csrf_token": editor.headers["x-token"], "action": "regions",
              "regions": "XX999"},
    )  # fmt: skip
    assert bad.status_code == 422
    assert len(_audit(portal, "item.regions")) == 1


def test_split_and_merge_from_the_story_pages_are_audited(portal, editor):
    tram, bus = TITLES["wien"]
    kept, merged = _story(portal, tram), _story(portal, bus)

    _post(editor, f"/editor/stories/{kept}", action="merge", other=merged)
    together = _story(portal, bus)
    _post(editor, f"/editor/items/{_id(portal, bus)}", action="split")

    assert together == kept
    assert _story(portal, bus) not in (kept, merged)
    [merge] = _audit(portal, "story.merge")
    assert merge.before == {"merged_story": merged, "kept_story": kept}
    [split] = _audit(portal, "item.split")
    assert split.before == {"story_id": kept}
    assert split.after == {"story_id": _story(portal, bus)}
    page = BeautifulSoup(editor.get(f"/editor/stories/{kept}").text, "lxml")
    assert [a.text for a in page.select("main ol li a")] == [tram]


def test_a_source_moved_to_another_region_is_checked_audited_and_reclassified(
    portal, editor
):
    bad = editor.post(
        "/editor/sources/wien/region",
        data={"csrf_token": editor.headers["x-token"], "region": "ZZ123"},
    )  # fmt: skip
    _post(editor, "/editor/sources/wien/region", region="at221")
    portal.classify_waiting()

    assert bad.status_code == 422
    with portal.sessions() as session:
        source = session.get(Source, "wien")
        assert (source.country, source.region) == ("AT", "AT221")
    assert set(TITLES["wien"]) <= _titles(editor, "/regions/AT221")
    [moved] = _audit(portal, "source.region")
    assert (moved.before["region"], moved.after["region"]) == ("AT130", "AT221")


def test_trust_applied_from_storage_returns_the_stories_to_refresh(portal):
    with portal.sessions() as session:
        stories = apply_trust(session, "linz", "trusted")
        session.commit()
        linz = session.scalar(select(Item).where(Item.source_id == "linz"))

    assert stories == [linz.story_id]
    assert linz.review == "published"


def test_curation_forms_posted_without_their_csrf_token_are_refused(portal, editor):
    posts = [
        ("/editor/review", {"decision": "approve", "item_id": "1"}),
        ("/editor/items/1", {"action": "hide"}),
        ("/editor/stories/1", {"action": "hide"}),
        ("/editor/sources/wien/region", {"region": "AT221"}),
    ]

    refused = [
        editor.post(path, data={"csrf_token": "forged", **data}).status_code
        for path, data in posts
    ]

    assert refused == [403, 403, 403, 403]
    with portal.sessions() as session:
        assert session.scalars(select(AuditEntry)).all() == []
        assert session.scalar(select(Item.hidden_at).where(Item.id == 1)) is None
