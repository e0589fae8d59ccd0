"""Serving benchmark (issue 7): a region feed and a region page under load.

A temporary SQLite database is filled in bulk with ``--items`` items (200,000)
of ``--sources`` sources in ten countries, each item in its source's
municipality and every region above it, with a topic, and in a story (one in
five a copy or a language version of an earlier one). The portal is served
the way ``aggregator web`` serves it (uvicorn, one process) in a process of
its own, and a client process (``benchmarks/clients.py``) keeps
``--clients`` (50) keep-alive connections busy against a country's feed
(Atom) and its page, in four phases of a quarter of ``--seconds`` (20) each:
the feed asked plainly, then with the ETag it gave (If-None-Match), then the
page the same two ways. The client asks for gzip, as feed readers and
browsers do.

Printed per phase: answers per second, p50 and p99 latency, the server's CPU
per answer; and the time of the first, uncached answer of each. Targets on a
2-core machine: feed p99 under 100 ms; at least 1,500 304 answers per second;
at least 300 full feed answers per second.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert

from aggregator.runtime import Runtime
from aggregator.settings import Settings
from benchmarks.samples import LANGUAGES
from classifiers.taxonomy import load_topics
from storage.models import (
    Item,
    ItemRegionRow,
    ItemTopicRow,
    Region,
    Source,
    Story,
)

COUNTRIES = {
    "de": "AT", "fr": "FR", "it": "IT", "es": "ES", "pl": "PL",
    "nl": "NL", "sv": "SE", "cs": "CZ", "el": "GR", "bg": "BG",
}  # fmt: skip
# Below each country: NUTS 1, 2 and 3 regions and municipalities, this many
# under each node of the level above.
BRANCHING = (("nuts1", 2), ("nuts2", 3), ("nuts3", 3), ("lau", 5))
CHUNK = 20_000
START_SECONDS = 60.0
NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


@dataclass
class Phase:
    name: str
    answers: int
    seconds: float
    p50_ms: float
    p99_ms: float
    statuses: dict[str, int]
    server_cpu_s: float

    @property
    def per_second(self) -> float:
        return self.answers / self.seconds if self.seconds else 0.0


@dataclass
class ServeReport:
    items: int
    sources: int
    regions: int
    clients: int
    fill_seconds: float
    first_answer_ms: dict[str, float]
    phases: list[Phase]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Serving benchmark: a region feed and a region page under "
        "concurrent clients, full answers and 304s."
    )
    parser.add_argument("--items", type=int, default=200_000, help="items (200000)")
    parser.add_argument("--sources", type=int, default=1_000, help="sources (1000)")
    parser.add_argument("--clients", type=int, default=50, help="connections (50)")
    parser.add_argument(
        "--seconds", type=float, default=20.0, help="load time, all phases (20)"
    )
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    if args.items < 1 or args.sources < 1 or args.clients < 1:
        parser.error("--items, --sources and --clients must be positive")
    return args


def region_rows() -> list[dict[str, Any]]:
    """EU, ten countries, their NUTS regions and municipalities."""
    rows = [_region("EU", None, "eu", None, "European Union", "EU/")]
    for country in COUNTRIES.values():
        rows.append(
            _region(country, "EU", "country", country, country, f"EU/{country}/")
        )
        parents = [rows[-1]]
        for level, count in BRANCHING:
            children = []
            for parent in parents:
                for number in range(1, count + 1):
                    code = f"{parent['code']}{number}"
                    if level == "lau":
                        code = f"{country}_{parent['code'][2:]}{number:02d}"
                    name = f"{level.upper()} {code}"
                    path = f"{parent['path']}{code}/"
                    children.append(
                        _region(code, parent["code"], level, country, name, path)
                    )
            rows.extend(children)
            parents = children
    return rows


def _region(
    code: str, parent: str | None, level: str, country: str | None, name: str, path: str
) -> dict[str, Any]:
    return {
        "code": code, "parent": parent, "level": level, "country": country,
        "name": name, "names": [], "population": None, "path": path,
        "replaces": None, "origin": "gazetteer",
    }  # fmt: skip


def fill(runtime: Runtime, args: argparse.Namespace) -> int:
    """Regions, sources, items, stories, regions and topics of every item."""
    rng = random.Random(args.seed)
    regions = region_rows()
    by_code = {row["code"]: row for row in regions}
    municipalities = [row for row in regions if row["level"] == "lau"]
    slugs = [topic.slug for topic in load_topics()]
    # The latest stories, which a copy joins.
    recent: list[int] = []
    languages = {country: language for language, country in COUNTRIES.items()}

    sources = []
    for number in range(args.sources):
        place = rng.choice(municipalities)
        sources.append(
            {"id": f"bench-{number:05d}", "name": f"Municipality {number}",
             "kind": "feed", "url": f"https://m{number}.example/rss",
             "website": None, "publisher": "municipality",
             "country": place["country"], "region": place["code"],
             "municipality": place["code"],
             "languages": [languages[place["country"]]], "state": "active",
             "created_at": NOW, "updated_at": NOW, "consecutive_failures": 0,
             "moved_count": 0, "trust": "trusted"}
        )  # fmt: skip

    with runtime.engine.begin() as connection:
        connection.execute(insert(Region), regions)
        connection.execute(insert(Source), sources)
        for first in range(0, args.items, CHUNK):
            numbers = range(first + 1, min(first + CHUNK, args.items) + 1)
            items: list[dict[str, Any]] = []
            stories: list[dict[str, Any]] = []
            placed: list[dict[str, Any]] = []
            topics: list[dict[str, Any]] = []
            for item_id in numbers:
                source = sources[rng.randrange(len(sources))]
                item, story = _item(item_id, source, args, rng, recent)
                items.append(item)
                if story is not None:
                    stories.append(story)
                places = by_code[source["region"]]["path"].strip("/").split("/")
                placed.extend(
                    {"item_id": item_id, "code": code,
                     "level": by_code[code]["level"], "country": source["country"],
                     "reason": "source", "evidence": source["id"],
                     "via": None if code == source["region"] else source["region"]}
                    for code in places
                )  # fmt: skip
                topics.append(
                    {"item_id": item_id, "slug": rng.choice(slugs), "score": 1.0,
                     "reason": "rules", "evidence": []}
                )  # fmt: skip
            connection.execute(insert(Story), stories)
            connection.execute(insert(Item), items)
            connection.execute(insert(ItemRegionRow), placed)
            connection.execute(insert(ItemTopicRow), topics)
    with runtime.engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE")
    return len(regions)


def _item(
    item_id: int,
    source: dict[str, Any],
    args: argparse.Namespace,
    rng: random.Random,
    recent: list[int],
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """An item published within the last year, in a story of its own or, one
    time in five, a copy in one of the ``recent`` stories."""
    published = NOW - timedelta(seconds=(args.items - item_id) * 150)
    language = source["languages"][0]
    sample = next(each for each in LANGUAGES if each.code == language)
    story = None
    if recent and rng.random() < 0.2:
        story_id, role = rng.choice(recent), "copy"
    else:
        story_id, role = item_id, "headline"
        story = {"id": item_id, "headline_item_id": item_id, "created_at": NOW,
                 "updated_at": NOW, "editor_locked": False}  # fmt: skip
        recent.append(item_id)
        del recent[:-500]
    town = rng.choice(sample.towns)
    title = rng.choice(sample.titles).format(town=town) + f" ({item_id})"
    text = " ".join(rng.choice(sample.sentences) for _ in range(6))
    item = {
        "id": item_id, "source_id": source["id"], "entry_key": f"e{item_id}",
        "guid": None, "url": f"{source['url'].removesuffix('rss')}news/{item_id}",
        "title": title, "summary": text[:300], "content_html": f"<p>{text}</p>",
        "authors": [], "categories": [], "image_url": None, "language": language,
        "published_at": published, "entry_updated_at": None,
        "first_seen_at": published, "changed_at": None,
        "content_hash": f"{item_id:064x}", "date_known": True,
        "delay_seconds": 600, "canonical_url": None, "language_method": "declared",
        "date_note": None, "classified_at": published, "story_id": story_id,
        "story_role": role,
    }  # fmt: skip
    return item, story


@contextmanager
def portal_server(database_url: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``aggregator web`` on a free port, stopped on the way out."""
    port = _free_port()
    environment = {
        **os.environ,
        "AGGREGATOR_DATABASE_URL": database_url,
        "AGGREGATOR_LISTEN": f"127.0.0.1:{port}",
        "AGGREGATOR_BASE_URL": f"http://127.0.0.1:{port}",
        "AGGREGATOR_LOG_LEVEL": "WARNING",
        "AGGREGATOR_WEBSUB_ENABLED": "false",
    }
    server = subprocess.Popen(
        [sys.executable, "-c", "from aggregator.cli import main; main()", "web"],
        env=environment,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, server)
        yield url, server
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_up(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the portal exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the portal did not answer within {START_SECONDS:.0f} s")


def first_answer(url: str) -> tuple[float, str]:
    """The time of an answer nobody asked for before, and its ETag."""
    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as answer:
        answer.read()
        etag = answer.headers["ETag"]
    return (time.perf_counter() - started) * 1000, etag


def load(
    targets: dict[str, tuple[str, str]], args: argparse.Namespace, server_pid: int
) -> list[Phase]:
    """Each of ``targets`` (name: URL and the ETag to send, or none) asked by
    ``args.clients`` connections for a quarter of the time, from the client
    process (``benchmarks/clients.py``)."""
    command = [
        sys.executable, str(Path(__file__).with_name("clients.py")),
        f"--clients={args.clients}", f"--seconds={args.seconds / 4}",
        f"--server-pid={server_pid}",
        *(json.dumps([name, url, etag]) for name, (url, etag) in targets.items()),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return [Phase(**phase) for phase in json.loads(done.stdout)]


def run(args: argparse.Namespace) -> ServeReport:
    with tempfile.TemporaryDirectory(prefix="serve-bench-") as folder:
        database_url = f"sqlite:///{folder}/bench.db"
        runtime = Runtime.build(Settings(database_url=database_url))
        started = time.monotonic()
        try:
            runtime.upgrade()
            regions = fill(runtime, args)
        finally:
            runtime.close()
        filled = time.monotonic() - started

        country = COUNTRIES["de"]
        targets = {
            "feed": f"/feeds/regions/{country}.atom",
            "page": f"/regions/{country}",
        }
        firsts, asked = {}, {}
        with portal_server(database_url) as (base, server):
            for name, path in targets.items():
                firsts[name], etag = first_answer(base + path)
                asked[f"{name}, full"] = (base + path, "")
                asked[f"{name}, 304"] = (base + path, etag)
            phases = load(asked, args, server.pid)
    return ServeReport(
        args.items, args.sources, regions, args.clients, filled, firsts, phases
    )


def print_report(report: ServeReport) -> None:
    print(
        f"Serving benchmark: {report.items:,} items of {report.sources:,} sources "
        f"in {report.regions:,} regions (filled in {report.fill_seconds:.1f} s), "
        f"{report.clients} clients, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    for name, milliseconds in report.first_answer_ms.items():
        print(f"  first {name} answer (rendered, uncached): {milliseconds:.1f} ms")
    print(
        f"  {'phase':<12} {'answers':>8} {'per s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'server CPU ms/answer':>21}  statuses"
    )
    for phase in report.phases:
        cpu_ms = phase.server_cpu_s * 1000 / phase.answers if phase.answers else 0.0
        print(
            f"  {phase.name:<12} {phase.answers:>8} {phase.per_second:>8.0f} "
            f"{phase.p50_ms:>8.1f} {phase.p99_ms:>8.1f} {cpu_ms:>21.2f}  "
            f"{phase.statuses}"
        )
    print(
        "  targets: feed p99 under 100 ms; 1,500 304s per second; 300 full feed "
        "answers per second"
    )


def main(argv: list[str] | None = None) -> ServeReport:
    args = parse_args(argv)
    report = run(args)
    print_report(report)
    return report


if __name__ == "__main__":
    main()
