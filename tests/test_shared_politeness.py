"""Politeness kept by several workers together through PostgreSQL: two
crawlers, as two workers would have, send one host no more requests at once
and no closer together than one crawler would; a dead worker's slots come
free when their lease runs out."""

from __future__ import annotations

import asyncio
import itertools
import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from aggregator.crawler import Crawler
from aggregator.host_leases import SharedHostLeases
from aggregator.runtime import Runtime
from aggregator.settings import Settings
from storage.host_leases import prepare_host, release_host_slot, take_host_slot
from tests.conftest import POSTGRES_ENV

pytestmark = pytest.mark.skipif(
    not os.environ.get(POSTGRES_ENV), reason=f"{POSTGRES_ENV} is not set"
)

GAP = 0.2
ANSWER_SECONDS = 0.3
FEED = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
)


class Visits:
    """Start and end of every request the server answered."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.spans: list[tuple[float, float]] = []

    def most_at_once(self) -> int:
        moments = sorted(
            [(start, 1) for start, _ in self.spans]
            + [(end, -1) for _, end in self.spans]
        )
        current = peak = 0
        for _, change in moments:
            current += change
            peak = max(peak, current)
        return peak

    def closest_starts(self) -> float:
        starts = sorted(start for start, _ in self.spans)
        return min(later - earlier for earlier, later in itertools.pairwise(starts))


@pytest.fixture
def site() -> Iterator[tuple[str, Visits]]:
    visits = Visits()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            started = time.monotonic()
            time.sleep(ANSWER_SECONDS)
            body = FEED if self.path != "/robots.txt" else b"User-agent: *\n"
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            with visits.lock:
                visits.spans.append((started, time.monotonic()))

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", visits
    server.shutdown()
    server.server_close()


@pytest.fixture
def runtime(postgres_server: str, tmp_path: Path) -> Iterator[Runtime]:
    settings = Settings(
        database_url=postgres_server,
        sources_file=tmp_path / "sources.yaml",
        allow_hosts=["127.0.0.1"],
        host_concurrency=2,
        host_gap_seconds=GAP,
    )
    runtime = Runtime.build(settings)
    runtime.upgrade()
    yield runtime
    runtime.close()
    engine = create_engine(postgres_server)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


async def _crawl_together(runtime: Runtime, base: str, shared: bool) -> None:
    """Two crawlers, each fetching six feeds of the one host at once."""
    settings = runtime.settings

    def leases() -> SharedHostLeases | None:
        if not shared:
            return None
        return SharedHostLeases(runtime.sessions, settings.host_concurrency, 30)

    async with (
        Crawler(settings, shared_hosts=leases()) as first,
        Crawler(settings, shared_hosts=leases()) as second,
    ):
        fetches = [
            crawler.fetch(f"{base}/feed-{name}-{n}.xml")
            for name, crawler in (("a", first), ("b", second))
            for n in range(6)
        ]
        results = await asyncio.gather(*fetches)
    assert [result.status for result in results] == [200] * 12


def test_two_crawlers_sharing_slots_keep_the_limits_of_one(runtime, site):
    base, visits = site

    asyncio.run(_crawl_together(runtime, base, shared=False))
    # Each crawler alone keeps the limits; two of them double the load.
    assert visits.most_at_once() > 2

    visits.spans.clear()
    asyncio.run(_crawl_together(runtime, base, shared=True))
    assert len(visits.spans) >= 12
    assert visits.most_at_once() <= 2
    # The server sees a start a few milliseconds after the client's.
    assert visits.closest_starts() >= GAP - 0.05


def test_a_held_slot_waits_for_its_release_or_its_lease_to_run_out(runtime):
    host = "town.example"
    with runtime.sessions() as session:
        prepare_host(session, host, 1)
        held = take_host_slot(session, host, 1, "alive", 60, GAP)
        session.commit()
        assert held == (0, 0.0)

        assert take_host_slot(session, host, 1, "other", 60, GAP) is None
        # Only the holder gives a slot back.
        release_host_slot(session, host, 0, "other")
        assert take_host_slot(session, host, 1, "other", 60, GAP) is None
        release_host_slot(session, host, 0, "alive")
        taken = take_host_slot(session, host, 1, "other", 0.2, GAP)
        session.commit()
        assert taken is not None
        slot, wait = taken
        # The second start waits for the first one's gap.
        assert slot == 0 and 0 < wait <= GAP

        # A holder that died: its lease runs out and the slot is taken over.
        time.sleep(0.3)
        assert take_host_slot(session, host, 1, "third", 60, GAP) is not None
        session.commit()
