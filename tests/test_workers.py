"""Four ``aggregator worker`` processes on one PostgreSQL database crawl 500
feeds: each source fetched once, each item stored once, each release one
story; the same with a worker killed part-way, and with every database
connection cut under running workers.

The three fleet tests share one database, one feed server and one set of
workers, started once for the module, and each adds its own feeds. The
intervals are shortened so the properties show within seconds: a tick a
second, a heartbeat every half second, a worker silent for 6 s taken for
dead, while sources keep their 60-minute poll interval, so any second fetch
of a source within the test is a fetch within its interval.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from aggregator.runtime import Runtime
from aggregator.settings import Settings
from benchmarks.scale import worker_env
from storage.queue import ITEMS_LOCK, hold_lock
from tests.conftest import POSTGRES_ENV
from tests.feedweb import FeedSet, FeedWeb, build_feeds

pytestmark = [
    pytest.mark.skipif(
        not os.environ.get(POSTGRES_ENV), reason=f"{POSTGRES_ENV} is not set"
    ),
    # Starting four workers is part of the first test's time.
    pytest.mark.timeout(400),
    # One fleet for the module: under pytest-xdist with --dist loadgroup its
    # tests stay in one process instead of starting a fleet in each.
    pytest.mark.xdist_group("workers"),
]

WORKERS = 4
TICK_SECONDS = 1
HEARTBEAT_SECONDS = 0.5
STALLED_SECONDS = 6.0
# The workers take the crawl and dedup queues: the classifiers' queue is
# served the same way, and loading the region tree in a worker costs
# seconds of CPU that none of these properties needs.
QUEUES = "crawl,dedup"


@dataclass
class Fleet:
    url: str
    engine: Engine
    web: FeedWeb
    folder: Path
    workers: list[subprocess.Popen[bytes]]
    ports: list[int]
    feed_sets: list[FeedSet]

    def sync(self, feed_set: FeedSet) -> None:
        """Add ``feed_set`` to the registry and sync it into the database."""
        self.web.add(feed_set)
        self.feed_sets.append(feed_set)
        sources = [
            {
                "id": source_id(path),
                "name": f"Town {path}",
                "kind": "feed",
                "url": self.web.base_url + path,
                "publisher": "municipality",
                "country": "AT",
                "languages": ["en"],
            }
            for each in self.feed_sets
            for path in each.bodies
        ]
        registry = self.folder / "sources.yaml"
        registry.write_text(yaml.safe_dump({"sources": sources}), encoding="utf-8")
        runtime = Runtime.build(_settings(self.url, registry))
        try:
            runtime.sync_sources()
        finally:
            runtime.close()

    def alive(self) -> list[int]:
        return [n for n, worker in enumerate(self.workers) if worker.poll() is None]

    def health(self, number: int) -> dict[str, object]:
        url = f"http://127.0.0.1:{self.ports[number]}/health"
        with urllib.request.urlopen(url, timeout=5) as answer:
            return json.loads(answer.read())


def source_id(path: str) -> str:
    return "town-" + path.strip("/").removesuffix(".xml").replace("/", "-")


def _settings(url: str, registry: Path) -> Settings:
    return Settings(database_url=url, sources_file=registry, parse_workers=0)


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for each in sockets:
        each.bind(("127.0.0.1", 0))
    ports = [each.getsockname()[1] for each in sockets]
    for each in sockets:
        each.close()
    return ports


def _worker_env(url: str, port: int, queues: str) -> dict[str, str]:
    return worker_env(
        url,
        allow_hosts="127.0.0.1",
        host_gap_seconds="0",
        host_concurrency="8",
        tick_seconds=str(TICK_SECONDS),
        worker_heartbeat_seconds=str(HEARTBEAT_SECONDS),
        worker_stalled_seconds=str(STALLED_SECONDS),
        worker_concurrency="8",
        # Four workers and the rest of the suite share one server's hundred
        # connections: a few each (their jobs wait their turn for one).
        database_pool_size="3",
        worker_queues=queues,
        worker_listen=f"127.0.0.1:{port}",
        statement_timeout_seconds="30",
        log_format="json",
    )


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    admin_url = os.environ[POSTGRES_ENV]
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"aggregator_workers_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    folder = tmp_path_factory.mktemp("workers")
    runtime = Runtime.build(_settings(url, folder / "sources.yaml"))
    runtime.upgrade()
    runtime.close()

    web = FeedWeb(latency=0.05)
    web.start()
    ports = _free_ports(WORKERS)
    command = [str(Path(sys.executable).with_name("aggregator")), "worker"]
    workers = []
    for number, port in enumerate(ports):
        log = (folder / f"worker-{number}.log").open("wb")
        workers.append(
            subprocess.Popen(
                command, env=_worker_env(url, port, QUEUES), stdout=log, stderr=log
            )
        )
    engine = create_engine(url)
    fleet = Fleet(url, engine, web, folder, workers, ports, [])
    _wait(lambda: all(_answers(fleet, n) for n in range(WORKERS)), 60, "workers up")
    try:
        yield fleet
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        for worker in workers:
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        web.stop()
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _answers(fleet: Fleet, number: int) -> bool:
    try:
        return fleet.health(number)["status"] == "ok"
    except OSError:
        return False


def _wait(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _settled(fleet: Fleet, feed_set: FeedSet) -> bool:
    """Every source of the set fetched and recorded, its items placed, and no
    crawl waiting or running."""
    ids = [source_id(path) for path in feed_set.bodies]
    with fleet.engine.connect() as connection:
        unfetched = connection.execute(
            text(
                "SELECT count(*) FROM sources WHERE id = ANY(:ids) "
                "AND last_fetched_at IS NULL"
            ),
            {"ids": ids},
        ).scalar()
        waiting = connection.execute(
            text(
                "SELECT count(*) FROM items WHERE source_id = ANY(:ids) "
                "AND text_hash IS NULL"
            ),
            {"ids": ids},
        ).scalar()
        crawls = connection.execute(
            text(
                "SELECT count(*) FROM procrastinate_jobs WHERE task_name = "
                "'crawl-source' AND status IN ('todo', 'doing')"
            )
        ).scalar()
    return unfetched == 0 and waiting == 0 and crawls == 0


def _assert_items_and_stories(fleet: Fleet, feed_set: FeedSet) -> None:
    """Every item stored once; each release one story, its own items alone."""
    expected = {
        (source_id(path), item.guid): item
        for path, items in feed_set.items.items()
        for item in items
    }
    with fleet.engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT source_id, guid, story_id FROM items "
                "WHERE source_id = ANY(:ids)"
            ),
            {"ids": sorted({key[0] for key in expected})},
        ).all()
    stored = [(row.source_id, row.guid) for row in rows]
    assert len(stored) == len(set(stored)), "an item was stored twice"
    assert set(stored) == set(expected), "items were lost or invented"

    stories_of: dict[object, set[int]] = defaultdict(set)
    for row in rows:
        assert row.story_id is not None
        release = expected[(row.source_id, row.guid)].release
        key = ("release", release) if release is not None else ("own", row.guid)
        stories_of[key].add(row.story_id)
    split = {key: ids for key, ids in stories_of.items() if len(ids) > 1}
    assert not split, f"copies of one release in several stories: {split}"
    story_ids = [next(iter(ids)) for ids in stories_of.values()]
    assert len(story_ids) == len(set(story_ids)), "two releases share a story"
    with fleet.engine.connect() as connection:
        empty = connection.execute(
            text(
                "SELECT count(*) FROM stories s WHERE NOT EXISTS "
                "(SELECT 1 FROM items i WHERE i.story_id = s.id)"
            )
        ).scalar()
    assert empty == 0, "placers started stories that hold no item"


def test_four_workers_fetch_each_source_once_and_make_one_story_per_release(
    fleet: Fleet,
) -> None:
    feed_set = build_feeds("a", feeds=500, releases=50, copies=5, seed=1)
    fleet.sync(feed_set)

    _wait(lambda: _settled(fleet, feed_set), 150, "500 sources crawled and placed")
    # Ticks go on queueing due sources: none of these is due for an hour.
    time.sleep(2 * TICK_SECONDS + 0.5)

    twice = [path for path in feed_set.bodies if len(fleet.web.fetches(path)) != 1]
    assert not twice, f"fetched other than once within their interval: {twice[:5]}"
    _assert_items_and_stories(fleet, feed_set)
    assert fleet.alive() == list(range(WORKERS))


def test_a_killed_workers_sources_are_crawled_by_the_others_once_more_at_most(
    fleet: Fleet,
) -> None:
    feed_set = build_feeds("b", feeds=100, releases=10, copies=5, seed=2)
    paths = list(feed_set.bodies)
    fleet.sync(feed_set)
    health = {n: fleet.health(n) for n in fleet.alive()}
    worker_ids = {int(str(h["worker_id"])): n for n, h in health.items()}

    # Part-way: a fifth of the sources fetched, many crawls running.
    _wait(lambda: fleet.web.fetched(paths) >= 20, 60, "a fifth of the sources")
    with fleet.engine.connect() as connection:
        running = dict(
            connection.execute(
                text(
                    "SELECT worker_id, count(*) FROM procrastinate_jobs "
                    "WHERE status = 'doing' AND task_name = 'crawl-source' "
                    "GROUP BY worker_id"
                )
            ).all()
        )
    victim_id = max(worker_ids, key=lambda worker_id: running.get(worker_id, 0))
    victim = fleet.workers[worker_ids[victim_id]]
    victim.send_signal(signal.SIGKILL)
    killed_at = time.time()
    victim.wait()
    with fleet.engine.connect() as connection:
        held = set(
            connection.scalars(
                text(
                    "SELECT queueing_lock FROM procrastinate_jobs WHERE status = "
                    "'doing' AND worker_id = :worker"
                ),
                {"worker": victim_id},
            )
        )
    assert held, "the killed worker held no crawl"

    _wait(lambda: _settled(fleet, feed_set), 150, "the others to finish")

    twice = {source_id(p) for p in paths if len(fleet.web.fetches(p)) > 1}
    assert twice <= held, "a source the dead worker did not hold was fetched twice"
    assert all(fleet.web.fetches(p) for p in paths)
    _assert_items_and_stories(fleet, feed_set)
    # The dead worker's sources waited for its heartbeat to go stale (its last
    # beat came up to one interval before the kill), no more than a few ticks
    # beyond.
    taken_over = [
        fleet.web.fetches(p)[-1] - killed_at
        for p in paths
        if source_id(p) in held and fleet.web.fetches(p)[-1] > killed_at
    ]
    assert taken_over, "no held source was fetched after the kill"
    stale = STALLED_SECONDS - HEARTBEAT_SECONDS
    assert stale <= max(taken_over) < STALLED_SECONDS + 4 * TICK_SECONDS + 3
    sys.stderr.write(f"\nheld sources crawled again after {max(taken_over):.1f} s\n")


def test_workers_carry_on_after_their_database_connections_are_cut(
    fleet: Fleet,
) -> None:
    feed_set = build_feeds("c", feeds=60, releases=6, copies=5, seed=3)
    paths = list(feed_set.bodies)
    alive = fleet.alive()
    fleet.sync(feed_set)

    _wait(lambda: fleet.web.fetched(paths) >= 20, 60, "crawls under way")
    cut = 0
    with fleet.engine.connect() as connection:
        for _ in range(2):
            cut += connection.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalar()
            time.sleep(0.3)
    assert cut >= len(alive)

    _wait(lambda: _settled(fleet, feed_set), 150, "the crawl to finish after the cut")
    assert fleet.alive() == alive
    assert all(fleet.web.fetches(p) for p in paths)
    _assert_items_and_stories(fleet, feed_set)
    _wait(lambda: all(_answers(fleet, n) for n in alive), 30, "workers healthy")
    metrics = urllib.request.urlopen(
        f"http://127.0.0.1:{fleet.ports[alive[0]]}/metrics", timeout=5
    ).read()
    assert b'aggregator_fetches_total{outcome="ok"}' in metrics
    assert b"aggregator_queue_jobs" in metrics


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_placers_take_turns_so_copies_stored_at_once_make_one_story(
    runtime: Runtime, tmp_path: Path
) -> None:
    """Placers on two connections wait for whoever holds the placing lock,
    then join the stories it made instead of starting their own."""
    web = FeedWeb(latency=0)
    web.start()
    feed_set = build_feeds("d", feeds=40, releases=4, copies=5, seed=4)
    fleet = Fleet(
        runtime.settings.database_url, runtime.engine, web, tmp_path, [], [], []
    )
    fleet.sync(feed_set)
    asyncio.run(runtime.crawl(process=False))
    web.stop()

    other = Runtime.build(runtime.settings)
    placers = [threading.Thread(target=each.place_waiting) for each in (runtime, other)]
    try:
        with runtime.sessions() as holder:
            hold_lock(holder, ITEMS_LOCK)
            for placer in placers:
                placer.start()
            _wait(lambda: _waiting_for_lock(runtime) == 2, 30, "placers waiting")
            assert _placed(runtime) == 0
        for placer in placers:
            placer.join()
    finally:
        other.close()
    assert _placed(runtime) == sum(len(items) for items in feed_set.items.values())
    _assert_items_and_stories(fleet, feed_set)


def _waiting_for_lock(runtime: Runtime) -> int:
    with runtime.sessions() as session:
        return session.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'advisory' "
                "AND datname = current_database()"
            )
        )


def _placed(runtime: Runtime) -> int:
    with runtime.sessions() as session:
        return session.scalar(
            text("SELECT count(*) FROM items WHERE text_hash IS NOT NULL")
        )
