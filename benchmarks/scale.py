"""Scale benchmark (issue 11): crawl throughput of 1, 2 and 4 workers on
PostgreSQL against the same local feed server.

``benchmarks/feedserver.py`` serves ``--feeds`` feeds of 20 entries on
``--hosts`` loopback addresses, each answer ``--latency`` seconds late, as
for ``crawl.py``. For each number of workers, a fresh database on the
PostgreSQL server named by ``--database`` (default: the
``AGGREGATOR_TEST_POSTGRES_URL`` variable; a database of its own is created
and dropped there) gets the sources, and that many ``aggregator worker``
processes, already running and idle, crawl them: the clock runs from the
sync that makes every source due to the moment every source has a recorded
fetch. The workers take only the crawl queue, so the figure is the crawl's
(fetch, parse, store) and not dedup's or the classifiers', which take their
turns one worker at a time whatever the number of workers.

Printed per run: wall seconds, feeds per second, and the speed-up over one
worker. On a shared machine the figures move with the neighbours' load.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from aggregator.runtime import Runtime
from aggregator.settings import Settings
from benchmarks.crawl import feed_server, write_registry

POSTGRES_ENV = "AGGREGATOR_TEST_POSTGRES_URL"
START_SECONDS = 120.0


@dataclass(frozen=True)
class ScaleRun:
    workers: int
    sources: int
    fetched: int
    wall_s: float

    @property
    def feeds_per_second(self) -> float:
        return self.fetched / self.wall_s if self.wall_s else 0.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Crawl throughput of 1, 2 and 4 workers on PostgreSQL."
    )
    parser.add_argument("--feeds", type=int, default=1000, help="feeds (1000)")
    parser.add_argument("--hosts", type=int, default=100, help="hosts (100)")
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--workers", default="1,2,4", help="runs (1,2,4)")
    parser.add_argument(
        "--concurrency", type=int, default=16, help="jobs at once per worker (16)"
    )
    parser.add_argument(
        "--database",
        default=os.environ.get(POSTGRES_ENV),
        help=f"PostgreSQL server URL (default: ${POSTGRES_ENV})",
    )
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    if not args.database:
        parser.error(f"give --database or set {POSTGRES_ENV}")
    args.worker_counts = [int(part) for part in args.workers.split(",")]
    return args


@contextmanager
def scratch_database(server_url: str) -> Iterator[str]:
    """A database of its own on the server, upgraded, dropped afterwards."""
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    name = f"aggregator_scale_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def worker_env(url: str, **settings: str) -> dict[str, str]:
    """The environment of a worker process on ``url``: this process's without
    its AGGREGATOR_* variables, crawling feeds as they come (no article
    pages, parsing on threads, no WebSub), ticking every second, and
    ``settings`` (``worker_queues="crawl"`` for AGGREGATOR_WORKER_QUEUES)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGGREGATOR_")}
    env.update(
        AGGREGATOR_DATABASE_URL=url,
        AGGREGATOR_FULL_TEXT_MIN_WORDS="0",
        AGGREGATOR_PARSE_WORKERS="0",
        AGGREGATOR_WEBSUB_ENABLED="false",
        AGGREGATOR_TICK_SECONDS="1",
        AGGREGATOR_WORKER_POLL_SECONDS="0.5",
        AGGREGATOR_LOG_LEVEL="WARNING",
    )
    env.update({f"AGGREGATOR_{name.upper()}": v for name, v in settings.items()})
    return env


@contextmanager
def worker_processes(
    url: str, count: int, concurrency: int, folder: Path
) -> Iterator[list[subprocess.Popen[bytes]]]:
    env = worker_env(
        url,
        allow_hosts="127.0.0.0/8",
        worker_queues="crawl",
        worker_concurrency=str(concurrency),
        worker_listen="",
    )
    command = [str(Path(sys.executable).with_name("aggregator")), "worker"]
    workers = []
    for number in range(count):
        log = (folder / f"worker-{count}-{number}.log").open("wb")
        workers.append(subprocess.Popen(command, env=env, stdout=log, stderr=log))
    try:
        yield workers
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()


def count(engine: Engine, query: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text(query)).scalar() or 0)


def wait_for(engine: Engine, query: str, target: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while count(engine, query) < target:
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {query!r} to reach {target}")
        time.sleep(0.05)


def measure(
    args: argparse.Namespace, port: int, workers: int, folder: Path
) -> ScaleRun:
    registry = folder / "sources.yaml"
    write_registry(registry, args.feeds, args.hosts, port)
    with scratch_database(args.database) as url:
        settings = Settings(database_url=url, sources_file=registry)
        runtime = Runtime.build(settings)
        engine = create_engine(url)
        try:
            runtime.upgrade()
            with worker_processes(url, workers, args.concurrency, folder):
                # Idle workers registered and beating: the start-up is not
                # part of the figure.
                wait_for(engine, "SELECT count(*) FROM procrastinate_workers",
                         workers, START_SECONDS)  # fmt: skip
                started = time.monotonic()
                runtime.sync_sources()
                wait_for(engine, "SELECT count(*) FROM sources WHERE "
                         "last_fetched_at IS NOT NULL", args.feeds, 600)  # fmt: skip
                wall = time.monotonic() - started
            fetched = count(engine, "SELECT count(*) FROM fetch_log")
        finally:
            engine.dispose()
            runtime.close()
    return ScaleRun(workers, args.feeds, fetched, wall)


def main(argv: list[str] | None = None) -> list[ScaleRun]:
    args = parse_args(argv)
    runs = []
    with (
        tempfile.TemporaryDirectory() as folder,
        feed_server(args) as (port, _server),
    ):
        for workers in args.worker_counts:
            runs.append(measure(args, port, workers, Path(folder)))
    print(f"{args.feeds} feeds on {args.hosts} hosts, {args.latency} s latency, "
          f"{args.concurrency} jobs at once per worker, PostgreSQL")  # fmt: skip
    base = runs[0].feeds_per_second
    for run in runs:
        print(
            f"{run.workers} worker(s): {run.fetched} fetches in {run.wall_s:.1f} s, "
            f"{run.feeds_per_second:.1f} feeds/s, x{run.feeds_per_second / base:.2f}"
        )
    return runs


if __name__ == "__main__":
    main()
