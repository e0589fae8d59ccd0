"""Crawl benchmark (issue 3): the real crawl of thousands of feeds on loopback.

A server process (``benchmarks/feedserver.py``) serves ``--feeds`` feeds of
20 entries (10-40 KB, ten EU languages, RSS and Atom) spread over
``--hosts`` loopback addresses, each answer 50 ms late, 1% HTTP 500 and 1%
broken XML, with robots.txt, ETag and Last-Modified. The sources are
registered from a sources.yaml in a temporary SQLite database, and
``Runtime.crawl`` (what ``aggregator crawl`` runs) crawls them twice: a first
crawl that parses and stores everything, then an unchanged one that gets
304s. Per-host politeness applies with its defaults (2 at a time, 0.5 s
apart), as on the web.

Printed for each crawl: wall seconds, feeds per second, CPU seconds of the
crawling process and its descendants (the parse workers; the server's CPU is
printed apart), and peak memory of the same processes, as the sum of their
RSS and as the sum of their PSS (shared pages split between the processes
sharing them). Targets on a 2-core machine: first crawl under 40 s, second
crawl at 300 feeds/s or more, peak memory under 300 MB.

Article pages are not fetched (``AGGREGATOR_FULL_TEXT_MIN_WORDS=0``): the
feeds carry their whole text, and ``benchmarks/ingest.py`` measures the
full-text stage on its own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import yaml

from aggregator.logs import configure_logging
from aggregator.pipeline import CrawlSummary
from aggregator.runtime import Runtime
from aggregator.settings import Settings
from benchmarks.feedserver import feed_url, host_address
from benchmarks.measure import TreeMonitor, Usage, cpu_seconds
from benchmarks.samples import LANGUAGES

COUNTRIES = {
    "de": "AT", "fr": "FR", "it": "IT", "es": "ES", "pl": "PL",
    "nl": "NL", "sv": "SE", "cs": "CZ", "el": "GR", "bg": "BG",
}  # fmt: skip
SERVER_START_SECONDS = 120.0


T = TypeVar("T")


@dataclass
class CrawlRun:
    name: str
    summary: CrawlSummary
    usage: Usage

    @property
    def feeds_per_second(self) -> float:
        return self.summary.sources / self.usage.wall_s if self.usage.wall_s else 0.0


@dataclass
class StageRun:
    items: int
    usage: Usage


@dataclass
class CrawlReport:
    feeds: int
    hosts: int
    parse_workers: int
    runs: list[CrawlRun]
    served: dict[str, int]
    server_cpu_s: float
    # The stages after the crawls, by name.
    stages: dict[str, StageRun] = field(default_factory=dict)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Crawl benchmark: a first and an unchanged second crawl of "
        "feeds served on loopback addresses.",
    )
    parser.add_argument("--feeds", type=int, default=2000, help="feeds (2000)")
    parser.add_argument(
        "--hosts", type=int, default=200, help="loopback hosts serving them (200)"
    )
    parser.add_argument(
        "--latency", type=float, default=0.05, help="seconds added to each answer"
    )
    parser.add_argument(
        "--host-gap",
        type=float,
        default=None,
        help="seconds between two fetches from one host (the setting's default)",
    )
    parser.add_argument(
        "--parse-workers",
        type=int,
        default=None,
        help="parse processes (the setting's default; 0 parses in the crawler)",
    )
    parser.add_argument(
        "--no-stages",
        dest="stages",
        action="store_false",
        help="skip the dedup and classify stages after the crawls",
    )
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--log-level", default="ERROR", choices=["DEBUG", "INFO", "WARNING", "ERROR"]
    )
    args = parser.parse_args(argv)
    if args.feeds < 1 or not 1 <= args.hosts <= 2000:
        parser.error("--feeds must be positive and --hosts between 1 and 2000")
    return args


@contextmanager
def feed_server(args: argparse.Namespace) -> Iterator[tuple[int, subprocess.Popen]]:
    """The feed server process, stopped (by closing its input) on the way out."""
    command = [
        sys.executable,
        str(Path(__file__).with_name("feedserver.py")),
        f"--feeds={args.feeds}",
        f"--hosts={args.hosts}",
        f"--latency={args.latency}",
        f"--seed={args.seed}",
    ]
    server = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        if not line.startswith("ready "):
            raise RuntimeError(f"the feed server did not start: {line!r}")
        yield int(line.split()[1]), server
    finally:
        assert server.stdin is not None
        server.stdin.close()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def server_stats(port: int, pid: int) -> tuple[dict[str, int], float]:
    """The feed server's answers by kind, and the CPU seconds it has used."""
    with urllib.request.urlopen(
        f"http://{host_address(0)}:{port}/-/stats", timeout=10
    ) as answer:
        served = json.loads(answer.read())
    return served, cpu_seconds(pid)


def write_registry(path: Path, feeds: int, hosts: int, port: int) -> None:
    sources = []
    for feed in range(feeds):
        language = LANGUAGES[feed % len(LANGUAGES)].code
        sources.append(
            {
                "id": f"bench-{feed:05d}",
                "name": f"Benchmark feed {feed}",
                "kind": "feed",
                "url": feed_url(feed, hosts, port),
                "publisher": "municipality",
                "country": COUNTRIES[language],
                "languages": [language],
            }
        )
    path.write_text(yaml.safe_dump({"sources": sources}), encoding="utf-8")


def measured(monitor: TreeMonitor, work: Callable[[], T]) -> tuple[T, Usage]:
    """Runs ``work`` and what it cost the process tree."""
    cpu_before = monitor.cpu()
    started = time.monotonic()
    with monitor:
        result = work()
    usage = Usage(
        wall_s=time.monotonic() - started,
        cpu_s=monitor.cpu() - cpu_before,
        peak_rss=monitor.peak_rss,
        peak_pss=monitor.peak_pss,
        processes=monitor.most_processes,
        peak_parts=monitor.peak_parts,
    )
    return result, usage


def timed_crawl(runtime: Runtime, monitor: TreeMonitor, name: str) -> CrawlRun:
    # Dedup and the classifiers run after a crawl; measured on their own.
    summary, usage = measured(
        monitor, lambda: asyncio.run(runtime.crawl(process=False))
    )
    return CrawlRun(name, summary, usage)


def timed_stage(
    runtime: Runtime, monitor: TreeMonitor, stage: Callable[[], int]
) -> StageRun:
    """A stage that runs after crawls, on every item the first crawl stored."""
    items, usage = measured(monitor, stage)
    return StageRun(items, usage)


def run(args: argparse.Namespace) -> CrawlReport:
    with (
        tempfile.TemporaryDirectory(prefix="crawl-bench-") as folder,
        feed_server(args) as (port, server),
    ):
        overrides: dict[str, object] = {
            "database_url": f"sqlite:///{folder}/bench.db",
            "sources_file": Path(folder) / "sources.yaml",
            "allow_hosts": ["127.0.0.0/8"],
            "full_text_min_words": 0,
            "log_level": args.log_level,
        }
        if args.host_gap is not None:
            overrides["host_gap_seconds"] = args.host_gap
        if args.parse_workers is not None:
            overrides["parse_workers"] = args.parse_workers
        settings = Settings(**overrides)  # type: ignore[arg-type]
        configure_logging(settings.log_format, settings.log_level)
        write_registry(settings.sources_file, args.feeds, args.hosts, port)

        runtime = Runtime.build(settings)
        try:
            runtime.upgrade()
            runtime.sync_sources()
            monitor = TreeMonitor(exclude=[server.pid])
            first = timed_crawl(runtime, monitor, "first crawl")
            runtime.make_all_due()
            second = timed_crawl(runtime, monitor, "unchanged crawl")
            # Asked now: the stages may outlast the server's lifetime.
            served, server_cpu = server_stats(port, server.pid)
            stages = {}
            if args.stages:
                stages["dedup stage"] = timed_stage(
                    runtime, monitor, runtime.place_waiting
                )
                stages["classify stage"] = timed_stage(
                    runtime, monitor, runtime.classify_waiting
                )
        finally:
            runtime.close()

    workers = getattr(settings, "parse_workers", 0)
    return CrawlReport(
        args.feeds, args.hosts, workers, [first, second], served, server_cpu, stages
    )


def print_report(report: CrawlReport, targets: bool) -> None:
    mb = 1024 * 1024
    print(
        f"Crawl benchmark: {report.feeds} feeds on {report.hosts} loopback hosts, "
        f"{report.parse_workers} parse workers, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    header = (
        f"{'crawl':<16}{'wall s':>8}{'feeds/s':>9}{'CPU s':>8}"
        f"{'peak RSS MB':>13}{'peak PSS MB':>13}{'procs':>7}  outcome"
    )
    print(header)
    print("-" * len(header))
    for crawl in report.runs:
        usage, summary = crawl.usage, crawl.summary
        print(
            f"{crawl.name:<16}{usage.wall_s:>8.1f}{crawl.feeds_per_second:>9.1f}"
            f"{usage.cpu_s:>8.1f}{usage.peak_rss / mb:>13.0f}"
            f"{usage.peak_pss / mb:>13.0f}{usage.processes:>7}  "
            f"{summary.fetched} parsed, {summary.not_modified} not modified, "
            f"{summary.failed} failed, {summary.new_items} new items"
        )
    for crawl in report.runs:
        parts = ", ".join(
            f"{role} {pss / mb:.0f}/{rss / mb:.0f}"
            for role, pss, rss in crawl.usage.peak_parts
        )
        print(f"{crawl.name} at its PSS peak, PSS/RSS MB by process: {parts}")
    for name, stage in report.stages.items():
        per_item = stage.usage.wall_s * 1000 / max(stage.items, 1)
        print(
            f"{name} (after the crawls): {stage.items} items in "
            f"{stage.usage.wall_s:.1f} s ({per_item:.2f} ms per item), "
            f"CPU {stage.usage.cpu_s:.1f} s, peak RSS "
            f"{stage.usage.peak_rss / mb:.0f} MB"
        )
    served = ", ".join(f"{k}: {v}" for k, v in sorted(report.served.items()))
    print(f"server answers: {served}; server CPU {report.server_cpu_s:.1f} s")
    if targets:
        first, second = report.runs
        # The tree's memory is its PSS sum: the RSS sum counts the pages the
        # parse workers share with their fork server (libraries, language
        # model) once per process.
        peak = max(r.usage.peak_pss for r in report.runs) / mb
        print(
            "targets: first crawl < 40 s: "
            f"{_verdict(first.usage.wall_s < 40)} ({first.usage.wall_s:.1f} s); "
            f"unchanged crawl >= 300 feeds/s: "
            f"{_verdict(second.feeds_per_second >= 300)} "
            f"({second.feeds_per_second:.0f}/s); peak memory (PSS) < 300 MB: "
            f"{_verdict(peak < 300)} ({peak:.0f} MB)"
        )


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def main(argv: list[str] | None = None) -> CrawlReport:
    args = parse_args(argv)
    report = run(args)
    print_report(report, targets=args.feeds == 2000)
    logging.shutdown()
    return report


if __name__ == "__main__":
    main()
