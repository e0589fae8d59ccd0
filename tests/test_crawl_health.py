"""Hostile and broken servers: each ends in the right health record, and the
rest of the crawl, and everything stored before, is untouched."""

from __future__ import annotations

import asyncio
import gzip
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from aggregator import pipeline
from aggregator.runtime import Runtime
from storage.models import FetchLog, Item, Source
from tests.conftest import FIXTURES, Site

GOOD = "good-town"
HOSTILE = "hostile-town"


def _registry(site: Site, hostile_url: str) -> str:
    return f"""
sources:
  - id: {GOOD}
    name: Good Town
    kind: feed
    url: {site.url("/good.xml")}
    publisher: municipality
    country: DE
    languages: [de]
  - id: {HOSTILE}
    name: Hostile Town
    kind: feed
    url: {hostile_url}
    publisher: municipality
    country: FR
    languages: [fr]
"""


@pytest.fixture
def town(runtime: Runtime, site: Site) -> Runtime:
    """Both sources crawled once while healthy, so each has stored items."""
    site.serve_file("/good.xml", "feeds/rss20.xml", "application/rss+xml")
    site.serve_file("/hostile.xml", "feeds/atom10.xml", "application/atom+xml")
    runtime.settings.sources_file.write_text(
        _registry(site, site.url("/hostile.xml")), encoding="utf-8"
    )
    runtime.sync_sources()
    asyncio.run(runtime.crawl())
    # The good feed gains an entry, so the next crawl has something to store.
    body = (FIXTURES / "feeds" / "rss20.xml").read_text(encoding="utf-8")
    site.serve(
        "/good.xml",
        body.replace("<item>", NEW_ITEM + "<item>", 1),
        "application/rss+xml",
    )
    return runtime


NEW_ITEM = """<item><title>Wochenmarkt zieht auf den Rathausplatz</title>
<link>https://www.musterhausen.example/presse/wochenmarkt</link>
<guid isPermaLink="false">presse-2026-0413</guid>
<pubDate>Wed, 04 Nov 2026 10:00:00 +0100</pubDate></item>"""


def _crawl_again(runtime: Runtime):
    runtime.make_all_due()
    return asyncio.run(runtime.crawl())


def _hostile(runtime: Runtime) -> Source:
    with runtime.sessions() as session:
        return session.get(Source, HOSTILE)


def _assert_rest_unharmed(runtime: Runtime) -> None:
    with runtime.sessions() as session:
        items = session.scalars(select(Item)).all()
        good = session.get(Source, GOOD)
    by_source = {(i.source_id, i.title) for i in items}
    assert (GOOD, "Wochenmarkt zieht auf den Rathausplatz") in by_source
    assert sum(1 for s, _ in by_source if s == HOSTILE) == 2
    assert good.last_error is None


def _point_hostile_at(runtime: Runtime, site: Site, path: str) -> None:
    runtime.settings.sources_file.write_text(
        _registry(site, site.url(path)), encoding="utf-8"
    )
    runtime.sync_sources()


def test_slow_body_times_out_and_is_recorded(town, site):
    def trickle():
        for _ in range(100):
            yield b"<rss>"
            time.sleep(0.1)

    site.serve_stream("/slow.xml", trickle, "application/rss+xml")
    _point_hostile_at(town, site, "/slow.xml")
    town.settings.fetch_timeout_seconds = 1.0

    summary = _crawl_again(town)

    assert summary.failed == 1
    assert _hostile(town).last_error_kind == "timeout"
    _assert_rest_unharmed(town)


def test_endless_body_stops_at_the_size_cap(town, site):
    def endless():
        while True:
            yield b"<item>" + b"x" * 65536

    site.serve_stream("/endless.xml", endless, "application/rss+xml")
    _point_hostile_at(town, site, "/endless.xml")
    town.settings.max_body_bytes = 1_000_000

    _crawl_again(town)

    assert _hostile(town).last_error_kind == "too_large"
    _assert_rest_unharmed(town)


def test_gzip_bomb_stops_at_the_size_cap(town, site):
    bomb = gzip.compress(b" " * 50_000_000)
    site.serve("/bomb.xml", bomb, headers={"Content-Encoding": "gzip"})
    _point_hostile_at(town, site, "/bomb.xml")

    _crawl_again(town)

    assert len(bomb) < 100_000
    assert _hostile(town).last_error_kind == "too_large"
    _assert_rest_unharmed(town)


def test_redirect_loop_is_detected(town, site):
    site.serve("/a.xml", b"", status=302, headers={"Location": "/b.xml"})
    site.serve("/b.xml", b"", status=302, headers={"Location": "/a.xml"})
    _point_hostile_at(town, site, "/a.xml")

    _crawl_again(town)

    source = _hostile(town)
    assert source.last_error_kind == "redirects"
    assert "loop" in source.last_error
    _assert_rest_unharmed(town)


def test_redirect_to_a_private_address_is_refused(town, site):
    # 127.0.0.2 is loopback too, but only 127.0.0.1 is allowed.
    port = site.base_url.rsplit(":", 1)[1]
    target = f"http://127.0.0.2:{port}/good.xml"
    site.serve("/away.xml", b"", status=301, headers={"Location": target})
    _point_hostile_at(town, site, "/away.xml")
    town.settings.allow_hosts = ["127.0.0.1/32"]

    _crawl_again(town)

    source = _hostile(town)
    assert source.last_error_kind == "refused_address"
    assert "127.0.0.2" in source.last_error
    _assert_rest_unharmed(town)


def test_429_with_retry_after_sets_the_next_fetch(town, site):
    site.serve("/busy.xml", "slow down", "text/plain", status=429,
               headers={"Retry-After": "7200"})  # fmt: skip
    _point_hostile_at(town, site, "/busy.xml")

    _crawl_again(town)

    source = _hostile(town)
    assert (source.last_error_kind, source.consecutive_failures) == ("http_status", 1)
    wait = source.next_fetch_at - source.last_fetched_at
    assert timedelta(hours=2) <= wait < timedelta(hours=2, minutes=1)
    _assert_rest_unharmed(town)


def test_410_gone_stops_the_source_for_good(town, site):
    site.serve("/gone.xml", "gone", "text/plain", status=410)
    _point_hostile_at(town, site, "/gone.xml")

    _crawl_again(town)
    again = _crawl_again(town)

    source = _hostile(town)
    assert source.state == "gone"
    assert "410" in source.state_reason
    assert again.sources == 1
    town.sync_sources()
    assert _hostile(town).state == "gone"
    _assert_rest_unharmed(town)


def test_robots_txt_disallow_is_honoured(town, site):
    site.serve("/robots.txt", "User-agent: *\nDisallow: /private/\n", "text/plain")
    site.serve_file("/private/feed.xml", "feeds/atom10.xml", "application/atom+xml")
    _point_hostile_at(town, site, "/private/feed.xml")
    # The rules read by the first crawl expire, so the new ones are read.
    town.robots.clear()

    _crawl_again(town)

    source = _hostile(town)
    assert source.last_error_kind == "robots"
    assert site.requests_for("/private/feed.xml") == []
    _assert_rest_unharmed(town)


def test_wrong_charset_still_gives_readable_text(town, site):
    body = (
        '<?xml version="1.0" encoding="windows-1252"?><rss version="2.0"><channel>'
        "<title>Café</title><item><title>Fête de la musique à la mairie</title>"
        "<link>https://v.example/fete</link><guid>fete</guid></item>"
        "</channel></rss>"
    ).encode("windows-1252")
    site.serve("/latin.xml", body, "application/rss+xml; charset=utf-8")
    _point_hostile_at(town, site, "/latin.xml")

    _crawl_again(town)

    with town.sessions() as session:
        titles = set(session.scalars(select(Item.title).where(Item.url.like("%fete"))))
    assert titles == {"Fête de la musique à la mairie"}
    assert _hostile(town).last_error is None


def test_html_instead_of_a_feed_is_recorded_as_not_a_feed(town, site):
    site.serve("/page.xml", "<!doctype html><p>Our new website!</p>", "text/html")
    _point_hostile_at(town, site, "/page.xml")

    _crawl_again(town)

    source = _hostile(town)
    assert source.last_error_kind == "not_a_feed"
    assert source.next_fetch_at > source.last_fetched_at
    _assert_rest_unharmed(town)


def test_second_crawl_of_unchanged_feeds_is_conditional_and_parses_nothing(
    runtime, site, monkeypatch
):
    feed = (FIXTURES / "feeds" / "rss20.xml").read_bytes()
    site.serve("/good.xml", feed, "application/rss+xml", headers={"ETag": '"v1"'})
    site.serve_file("/hostile.xml", "feeds/atom10.xml", "application/atom+xml")
    site.replies["/hostile.xml"].headers["Last-Modified"] = (
        "Tue, 03 Nov 2026 09:00:00 GMT"
    )
    runtime.settings.sources_file.write_text(
        _registry(site, site.url("/hostile.xml")), encoding="utf-8"
    )
    runtime.sync_sources()
    asyncio.run(runtime.crawl())
    parsed: list[str] = []
    real_parse = pipeline.parse_source

    def counting_parse(kind, body, url, *args):
        parsed.append(url)
        return real_parse(kind, body, url, *args)

    # A crawl of a few sources parses on threads, where the patch is seen.
    monkeypatch.setattr(pipeline, "parse_source", counting_parse)
    site.serve("/hostile.xml", b"", status=304)

    summary = _crawl_again(runtime)

    assert (summary.not_modified, summary.fetched, parsed) == (2, 0, [])
    assert site.requests_for("/good.xml")[-1]["If-None-Match"] == '"v1"'
    assert (
        site.requests_for("/hostile.xml")[-1]["If-Modified-Since"]
        == "Tue, 03 Nov 2026 09:00:00 GMT"
    )
    with runtime.sessions() as session:
        outcomes = session.scalars(
            select(FetchLog.outcome).order_by(FetchLog.id.desc()).limit(2)
        ).all()
    assert outcomes == ["not_modified", "not_modified"]


def test_permanent_redirect_seen_three_times_moves_the_source(runtime, site):
    site.serve_file("/good.xml", "feeds/rss20.xml", "application/rss+xml")
    site.serve_file("/new.xml", "feeds/atom10.xml", "application/atom+xml")
    site.serve("/old.xml", b"", status=301, headers={"Location": "/new.xml"})
    runtime.settings.sources_file.write_text(
        _registry(site, site.url("/old.xml")), encoding="utf-8"
    )
    runtime.sync_sources()

    urls = []
    for _ in range(3):
        _crawl_again(runtime)
        urls.append(_hostile(runtime).url)
    runtime.sync_sources()

    assert urls == [site.url("/old.xml")] * 2 + [site.url("/new.xml")]
    assert _hostile(runtime).url == site.url("/new.xml")
    assert "moved from" in _hostile(runtime).state_reason


def test_robots_txt_is_kept_across_crawls(town, site):
    site.serve("/robots.txt", "User-agent: *\nAllow: /\n", "text/plain")
    asked_before = len(site.requests_for("/robots.txt"))

    _crawl_again(town)
    _crawl_again(town)

    # Both sources share the host; its robots.txt was read by the first crawl.
    assert len(site.requests_for("/robots.txt")) == asked_before
