"""Per-host politeness and robots.txt, against a real local server."""

from __future__ import annotations

import asyncio
import time

import pytest

from aggregator.crawler import Crawler
from aggregator.errors import FetchError
from aggregator.politeness import HostGate
from aggregator.settings import Settings


def test_host_gate_allows_two_at_a_time_to_one_host():
    gate = HostGate(concurrency=2, gap=0.0)
    active = 0
    peak = 0

    async def request(host: str) -> None:
        nonlocal active, peak
        async with gate.slot(host):
            active += 1
            peak = max(peak, active)
            await asyncio.sleep(0.02)
            active -= 1

    async def run() -> None:
        await asyncio.gather(*(request("a.example") for _ in range(6)))

    asyncio.run(run())

    assert peak == 2


def test_host_gate_spaces_request_starts_on_one_host_but_not_across_hosts():
    gate = HostGate(concurrency=2, gap=0.05)
    starts: dict[str, list[float]] = {"a": [], "b": []}

    async def request(host: str) -> None:
        async with gate.slot(host):
            starts[host].append(time.monotonic())

    async def run() -> None:
        await asyncio.gather(*(request(h) for h in "ababab"))

    asyncio.run(run())

    for host in "ab":
        gaps = [b - a for a, b in zip(starts[host], starts[host][1:], strict=False)]
        assert all(gap >= 0.045 for gap in gaps), gaps
    assert abs(starts["a"][0] - starts["b"][0]) < 0.04


def _fetch_all(settings: Settings, urls: list[str]) -> list:
    async def run():
        async with Crawler(settings) as crawler:
            return await asyncio.gather(
                *(crawler.fetch(url) for url in urls), return_exceptions=True
            )

    return asyncio.run(run())


def test_robots_txt_is_fetched_once_per_host(site):
    site.serve("/robots.txt", "User-agent: *\nAllow: /\n", "text/plain")
    urls = [site.serve(f"/feed{n}.xml", "<rss/>") for n in range(4)]

    _fetch_all(Settings(allow_hosts=["127.0.0.1"], host_gap_seconds=0), urls)

    assert len(site.requests_for("/robots.txt")) == 1


def test_robots_rules_for_our_user_agent_are_honoured(site):
    site.serve(
        "/robots.txt",
        "User-agent: MunicipalNewsAggregator\nDisallow: /intern/\n\n"
        "User-agent: *\nDisallow: /\n",
        "text/plain",
    )
    allowed = site.serve("/news.xml", "<rss/>")
    refused = site.serve("/intern/feed.xml", "<rss/>")

    results = _fetch_all(
        Settings(allow_hosts=["127.0.0.1"], host_gap_seconds=0), [allowed, refused]
    )

    assert results[0].status == 200
    assert isinstance(results[1], FetchError) and results[1].kind == "robots"


def test_robots_server_error_means_disallow_until_it_recovers(site):
    site.serve("/robots.txt", "oops", "text/plain", status=503)
    url = site.serve("/feed.xml", "<rss/>")

    [result] = _fetch_all(
        Settings(allow_hosts=["127.0.0.1"], host_gap_seconds=0), [url]
    )

    assert isinstance(result, FetchError) and result.kind == "robots"
    assert site.requests_for("/feed.xml") == []


def test_crawl_delay_spaces_the_fetches_of_a_host(site):
    site.serve("/robots.txt", "User-agent: *\nCrawl-delay: 0.3\n", "text/plain")
    urls = [site.serve(f"/feed{n}.xml", "<rss/>") for n in range(3)]

    started = time.monotonic()
    _fetch_all(Settings(allow_hosts=["127.0.0.1"], host_gap_seconds=0), urls)
    elapsed = time.monotonic() - started

    assert elapsed >= 0.6


@pytest.mark.parametrize("status", [404, 410])
def test_missing_robots_txt_allows_everything(site, status):
    site.serve("/robots.txt", "none", "text/plain", status=status)
    url = site.serve("/feed.xml", "<rss/>")

    [result] = _fetch_all(
        Settings(allow_hosts=["127.0.0.1"], host_gap_seconds=0), [url]
    )

    assert result.status == 200
