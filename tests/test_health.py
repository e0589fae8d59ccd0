"""Source health: states, failures and how late items reach readers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from aggregator.runtime import Runtime
from storage.health import LATE, Freshness, SourceHealth, short_duration, source_health
from tests.conftest import Site

REGISTRY = """
sources:
  - id: late-town
    name: Late Town
    kind: feed
    url: {url}
    publisher: municipality
    country: SE
    languages: [sv]
"""


def _feed(published: list[datetime], dated: bool = True) -> str:
    items = "".join(
        f"<item><title>Nyhet nummer {n} från kommunen</title>"
        f"<link>https://late.example/{int(moment.timestamp())}</link>"
        + (f"<pubDate>{format_datetime(moment)}</pubDate>" if dated else "")
        + "</item>"
        for n, moment in enumerate(published)
    )
    return f'<rss version="2.0"><channel><title>Late</title>{items}</channel></rss>'


class FixedClock:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment


@pytest.fixture
def late_town(settings, site: Site):
    clock = FixedClock(datetime.now(UTC))
    runtime = Runtime.build(settings, clock)
    runtime.upgrade()
    settings.sources_file.write_text(
        REGISTRY.format(url=site.url("/feed.xml")), encoding="utf-8"
    )
    runtime.sync_sources()
    yield runtime, clock
    runtime.close()


def _crawl(runtime: Runtime) -> None:
    runtime.make_all_due()
    asyncio.run(runtime.crawl())


def test_first_backlog_is_not_counted_but_later_items_are(late_town, site):
    runtime, clock = late_town
    old = [clock.now() - timedelta(days=d) for d in (10, 11, 12)]
    site.serve("/feed.xml", _feed(old), "application/rss+xml")
    _crawl(runtime)

    # Three new items appear, published 1, 3 and 5 hours before this crawl.
    fresh = [clock.now() - timedelta(hours=h) for h in (1, 3, 5)]
    site.serve("/feed.xml", _feed(fresh + old), "application/rss+xml")
    _crawl(runtime)

    with runtime.sessions() as session:
        health = source_health(session, clock.now())["late-town"]
    assert health.status == "ok"
    assert health.freshness.items == 6
    assert health.freshness.median_delay == timedelta(hours=3)
    assert timedelta(hours=4) < health.freshness.p90_delay <= timedelta(hours=5)


def test_undated_items_are_counted_and_named_as_the_reason(late_town, site):
    runtime, clock = late_town
    site.serve(
        "/feed.xml",
        _feed([clock.now() - timedelta(hours=h) for h in range(4)], dated=False),
        "application/rss+xml",
    )
    _crawl(runtime)

    with runtime.sessions() as session:
        health = source_health(session, clock.now())["late-town"]
    assert health.freshness.undated == 4
    assert health.late_because == "no dates"


def test_failing_source_shows_its_failures_and_next_fetch(late_town, site):
    runtime, clock = late_town
    site.serve("/feed.xml", "down", "text/plain", status=500)
    _crawl(runtime)
    _crawl(runtime)

    with runtime.sessions() as session:
        health = source_health(session, clock.now())["late-town"]
    assert health.status == "failing"
    assert health.failures == 2
    assert health.error_kind == "http_status"
    assert health.failed_fetches == health.fetches == 2
    assert health.next_fetch_at > clock.now()


def test_sources_page_shows_delay_and_next_fetch(late_town, site):
    runtime, clock = late_town
    old = [clock.now() - timedelta(days=d) for d in (10, 11, 12)]
    site.serve("/feed.xml", _feed(old), "application/rss+xml")
    _crawl(runtime)
    site.serve(
        "/feed.xml",
        _feed([clock.now() - timedelta(hours=3), *old]),
        "application/rss+xml",
    )
    _crawl(runtime)

    with TestClient(runtime.web_app()) as client:
        page = BeautifulSoup(client.get("/sources").text, "lxml")
    row = page.select_one("tr#late-town")
    assert row.select_one("td.delay").get_text(strip=True).startswith("3 hr / 3 hr")
    assert row.select_one("time[datetime]") is not None


def _health(median: timedelta, interval: timedelta, failed: int = 0) -> SourceHealth:
    return SourceHealth(
        status="ok", failures=0, error_kind=None, error=None, next_fetch_at=None,
        fetches=10, failed_fetches=failed,
        freshness=Freshness(10, 0, median, median), poll_interval=interval,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("median", "interval", "failed", "reason"),
    [
        (LATE / 2, timedelta(hours=6), 0, None),
        (timedelta(hours=10), timedelta(hours=6), 0, "slow polling"),
        (timedelta(hours=10), timedelta(hours=6), 5, "errors"),
        (timedelta(hours=10), timedelta(minutes=15), 0, "published late by the source"),
    ],
)
def test_late_source_names_the_likeliest_reason(median, interval, failed, reason):
    assert _health(median, interval, failed).late_because == reason


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "–"),
        (timedelta(seconds=45), "45 s"),
        (timedelta(minutes=12), "12 min"),
        (timedelta(hours=3, minutes=20), "3 h 20 min"),
        (timedelta(days=2, hours=4), "2 d 4 h"),
    ],
)
def test_short_duration_reads_as_a_person_would(value, text):
    assert short_duration(value) == text
