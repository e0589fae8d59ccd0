"""From feeds served over real HTTP to stored items and back out as a feed."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import feedparser
import httpx
import pytest
import uvicorn
from sqlalchemy import func, select

from aggregator.runtime import Runtime
from storage.models import FetchLog, Item, Source
from tests.conftest import FIXTURES, Site

FEEDS = {
    "/rss20.xml": ("rss20.xml", "application/rss+xml"),
    "/atom10.xml": ("atom10.xml", "application/atom+xml"),
    "/rss10.rdf": ("rss10.rdf", "application/rdf+xml"),
}


def _registry(site: Site, extra: str = "") -> str:
    return f"""
sources:
  - id: musterhausen
    name: Stadt Musterhausen
    kind: feed
    url: {site.url("/rss20.xml")}
    publisher: municipality
    country: DE
    languages: [de]
  - id: ville-exemple
    name: Ville d'Exemple
    kind: feed
    url: {site.url("/atom10.xml")}
    publisher: municipality
    country: FR
    languages: [fr]
  - id: obcina-primer
    name: Občina Primer
    kind: feed
    url: {site.url("/rss10.rdf")}
    publisher: municipality
    country: SI
    languages: [sl]
{extra}"""


@pytest.fixture
def crawled(runtime: Runtime, site: Site) -> Runtime:
    for path, (name, content_type) in FEEDS.items():
        site.serve_file(path, f"feeds/{name}", content_type)
    runtime.settings.sources_file.write_text(_registry(site), encoding="utf-8")
    runtime.sync_sources()
    asyncio.run(runtime.crawl())
    return runtime


@pytest.fixture
def portal_url(crawled: Runtime) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        crawled.web_app(), host="127.0.0.1", port=port, log_config=None
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def _items(runtime: Runtime) -> list[Item]:
    with runtime.sessions() as session:
        return list(session.scalars(select(Item).order_by(Item.url)))


def test_crawl_stores_every_entry_of_rss20_atom_and_rss10_feeds(crawled):
    items = _items(crawled)

    assert len(items) == 6
    by_source = {}
    for item in items:
        by_source.setdefault(item.source_id, set()).add(item.language)
    assert by_source == {
        "musterhausen": {"de"},
        "ville-exemple": {"fr"},
        "obcina-primer": {"sl"},
    }
    assert all(item.published_at.tzinfo is not None for item in items)


def test_all_atom_feed_holds_the_crawled_titles_and_links(crawled, portal_url):
    response = httpx.get(f"{portal_url}/feeds/all.atom")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    published = {(entry.title, entry.link) for entry in parsed.entries}
    stored = {(item.title, item.url) for item in _items(crawled)}
    assert published == stored


@pytest.mark.parametrize("form", ["rss", "json"])
def test_all_feed_in_other_forms_holds_the_same_links(crawled, portal_url, form):
    response = httpx.get(f"{portal_url}/feeds/all.{form}")

    assert response.status_code == 200
    if form == "json":
        links = {entry["url"] for entry in response.json()["items"]}
    else:
        parsed = feedparser.parse(response.content)
        assert not parsed.bozo
        links = {entry.link for entry in parsed.entries}
    assert links == {item.url for item in _items(crawled)}


def test_home_page_lists_the_latest_items(crawled, portal_url):
    from bs4 import BeautifulSoup

    page = BeautifulSoup(httpx.get(portal_url + "/").text, "lxml")

    titles = [a.get_text() for a in page.select("main article h2 a")]
    assert titles[0] == "Le marché de Noël ouvre le 27 novembre"
    assert len(titles) == 6
    assert page.select_one("main article")["lang"] == "fr"


def test_second_crawl_adds_nothing(crawled):
    crawled.make_all_due()
    summary = asyncio.run(crawled.crawl())

    assert summary.fetched == 3
    assert summary.new_items == 0
    assert summary.updated_items == 0
    assert len(_items(crawled)) == 6


def test_changed_entry_updates_its_item_and_records_when(crawled, site):
    body = (FIXTURES / "feeds" / "rss20.xml").read_text(encoding="utf-8")
    site.serve(
        "/rss20.xml",
        body.replace(
            "Neue Radwege am Rheinufer freigegeben",
            "Neue Radwege am Rheinufer ab Montag freigegeben",
        ),
        "application/rss+xml",
    )
    crawled.make_all_due()

    summary = asyncio.run(crawled.crawl())

    assert (summary.new_items, summary.updated_items) == (0, 1)
    items = _items(crawled)
    assert len(items) == 6
    changed = [item for item in items if item.changed_at is not None]
    assert [item.title for item in changed] == [
        "Neue Radwege am Rheinufer ab Montag freigegeben"
    ]


def test_broken_feed_and_http_error_are_recorded_and_the_crawl_goes_on(runtime, site):
    for path, (name, content_type) in FEEDS.items():
        site.serve_file(path, f"feeds/{name}", content_type)
    site.serve("/broken.xml", "<html><p>Moved to our new site</p>", "text/html")
    site.serve("/gone.xml", "Internal error", "text/plain", status=500)
    extra = f"""
  - id: broken-feed
    name: Broken
    kind: feed
    url: {site.url("/broken.xml")}
    publisher: municipality
    country: AT
    languages: [de]
  - id: failing-server
    name: Failing
    kind: feed
    url: {site.url("/gone.xml")}
    publisher: region
    country: IT
    languages: [it]
"""
    runtime.settings.sources_file.write_text(_registry(site, extra), encoding="utf-8")
    runtime.sync_sources()

    summary = asyncio.run(runtime.crawl())

    assert (summary.sources, summary.fetched, summary.failed) == (5, 3, 2)
    assert summary.new_items == 6
    with runtime.sessions() as session:
        broken = session.get(Source, "broken-feed")
        failing = session.get(Source, "failing-server")
        assert broken.last_error_kind == "not_a_feed"
        assert "not a feed" in broken.last_error
        assert failing.last_error_kind == "http_status"
        assert "HTTP 500" in failing.last_error
        assert failing.consecutive_failures == 1
        assert failing.next_fetch_at > failing.last_fetched_at
        logged = session.scalar(
            select(func.count(FetchLog.id)).where(FetchLog.outcome == "error")
        )
        assert logged == 2


def test_press_release_page_source_becomes_items(runtime, site):
    listing = """<!doctype html><html lang="cs"><body>
      <nav><a href="/">Úvod</a> <a href="/kontakt">Kontakt a úřední hodiny</a></nav>
      <main><h1>Tiskové zprávy</h1><ul>
        <li><h2><a href="/zpravy/oprava-mostu">
            Oprava mostu přes Svratku začne v březnu</a></h2>
            <time datetime="2026-11-02T08:00:00Z">2. 11. 2026</time>
            <p>Most bude po dobu oprav uzavřen pro automobily.</p></li>
        <li><h2><a href="/zpravy/nova-knihovna">
            Nová pobočka knihovny otevírá v Líšni</a></h2>
            <time datetime="2026-11-01T09:00:00Z">1. 11. 2026</time>
            <p>Pobočka nabídne studovnu a dětské oddělení.</p></li>
      </ul></main></body></html>"""
    site.serve("/tiskove-zpravy", listing, "text/html; charset=utf-8")
    runtime.settings.sources_file.write_text(
        f"""
sources:
  - id: mesto-priklad
    name: Město Příklad
    kind: page
    url: {site.url("/tiskove-zpravy")}
    publisher: municipality
    country: CZ
    languages: [cs]
""",
        encoding="utf-8",
    )
    runtime.sync_sources()

    summary = asyncio.run(runtime.crawl())

    assert (summary.fetched, summary.new_items) == (1, 2)
    assert [(item.title, item.url, item.language) for item in _items(runtime)] == [
        (
            "Nová pobočka knihovny otevírá v Líšni",
            site.url("/zpravy/nova-knihovna"),
            "cs",
        ),
        (
            "Oprava mostu přes Svratku začne v březnu",
            site.url("/zpravy/oprava-mostu"),
            "cs",
        ),
    ]
