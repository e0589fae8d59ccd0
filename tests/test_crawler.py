"""Fetching: validators, limits and address rules, against a real local server."""

from __future__ import annotations

import asyncio
import gzip

import pytest

from aggregator.crawler import Crawler
from aggregator.errors import FetchError
from aggregator.settings import Settings


def _fetch(settings: Settings, url: str, **validators: str):
    async def run():
        async with Crawler(settings) as crawler:
            return await crawler.fetch(url, **validators)

    return asyncio.run(run())


@pytest.fixture
def local() -> Settings:
    return Settings(
        allow_hosts=["127.0.0.1"], max_body_bytes=10_000, host_gap_seconds=0
    )


def test_fetch_returns_body_status_and_headers(local, site):
    url = site.serve("/feed.xml", "<rss/>", headers={"ETag": '"v1"'})

    result = _fetch(local, url)

    assert (result.status, result.body) == (200, b"<rss/>")
    assert result.headers["etag"] == '"v1"'


def test_fetch_sends_validators_and_reports_not_modified(local, site):
    url = site.serve("/feed.xml", b"", status=304)

    result = _fetch(
        local, url, etag='"v1"', last_modified="Tue, 03 Nov 2026 09:00:00 GMT"
    )

    assert result.not_modified
    headers = site.requests[-1][1]
    assert headers["If-None-Match"] == '"v1"'
    assert headers["If-Modified-Since"] == "Tue, 03 Nov 2026 09:00:00 GMT"


def test_fetch_names_itself_in_the_user_agent(local, site):
    url = site.serve("/feed.xml", "<rss/>")

    _fetch(local, url)

    assert site.requests[-1][1]["User-Agent"] == local.user_agent
    assert local.contact_url in local.user_agent


def test_fetch_refuses_a_body_over_the_cap(local, site):
    url = site.serve("/big.xml", b"x" * 20_000)

    with pytest.raises(FetchError) as raised:
        _fetch(local, url)

    assert raised.value.kind == "too_large"


def test_fetch_stops_a_gzip_bomb_at_the_decompressed_cap(local, site):
    bomb = gzip.compress(b"\0" * 2_000_000)
    url = site.serve("/bomb.xml", bomb, headers={"Content-Encoding": "gzip"})

    with pytest.raises(FetchError) as raised:
        _fetch(local, url)

    assert raised.value.kind == "too_large"
    assert len(bomb) < 10_000


def test_fetch_reports_http_errors_with_their_status(local, site):
    url = site.serve("/missing.xml", "gone", status=410)

    with pytest.raises(FetchError) as raised:
        _fetch(local, url)

    assert (raised.value.kind, raised.value.status) == ("http_status", 410)


def test_fetch_stops_after_five_redirects(local, site):
    for hop in range(7):
        site.serve(f"/r{hop}", b"", status=301, headers={"Location": f"/r{hop + 1}"})

    with pytest.raises(FetchError) as raised:
        _fetch(local, site.url("/r0"))

    assert raised.value.kind == "redirects"


def test_fetch_refuses_loopback_unless_allowed(site):
    url = site.serve("/feed.xml", "<rss/>")

    with pytest.raises(FetchError) as raised:
        _fetch(Settings(), url)

    assert raised.value.kind == "refused_address"
    assert "AGGREGATOR_ALLOW_HOSTS" in str(raised.value)
    assert site.requests == []


def test_fetch_refuses_a_redirect_to_a_private_address(site):
    allowed_only_this_name = Settings(allow_hosts=["localhost"])
    port = site.base_url.rsplit(":", 1)[1]
    site.serve(
        "/hop", b"", status=302, headers={"Location": f"http://127.0.0.1:{port}/x"}
    )

    with pytest.raises(FetchError) as raised:
        _fetch(allowed_only_this_name, f"http://localhost:{port}/hop")

    assert raised.value.kind == "refused_address"


@pytest.mark.parametrize("url", ["ftp://files.example/feed.xml", "file:///etc/passwd"])
def test_fetch_refuses_schemes_other_than_http(local, url):
    with pytest.raises(FetchError) as raised:
        _fetch(local, url)

    assert raised.value.kind == "bad_url"


def test_fetch_reports_an_unknown_host_as_dns(local):
    with pytest.raises(FetchError) as raised:
        _fetch(local, "http://no-such-host.invalid/feed.xml")

    assert raised.value.kind == "dns"
