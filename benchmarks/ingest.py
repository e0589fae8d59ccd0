"""Ingest benchmark (issue 4): feed entries and their article pages, no HTTP.

Writes ``--entries`` feed entries (feeds of 20 short teasers, ten EU
languages) and one article page per entry (5-30 KB of HTML with menus,
breadcrumbs, a sidebar, a footer and a cookie notice) into a temporary
folder, then reads them from disk through the pipeline's own stages, the
functions a crawl calls once it has the bytes:

- ``parse_source``: feed parsing, sanitising, language, canonical URLs;
- ``complete_entry`` and ``keep_feed_headline`` for each entry's page:
  trafilatura's full text and metadata, sanitising, language, canonical URL;
- ``save_entries`` into a temporary SQLite database, one commit per feed.

In the same run, on the same bytes and in the same worker processes, it
measures the floor: feedparser and trafilatura alone, with the options the
pipeline asks of them and nothing around them. The two are measured in
alternating chunks, so that a change in the machine's load hits both alike.
Printed: items per second of each and the ratio pipeline / floor. Target:
the pipeline at 85% of the floor or more.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import sys
import tempfile
import time
from concurrent.futures import Executor, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aggregator.parsing import (
    complete_entry,
    keep_feed_headline,
    make_parse_pool,
    parse_source,
    start_parse_workers,
)
from aggregator.settings import Settings
from benchmarks.floor import extract_page_alone, parse_feed_alone, warm_up
from benchmarks.measure import TreeMonitor
from benchmarks.samples import LANGUAGES, Story, make_feed, make_story, render_page
from extractors.entry import Entry
from extractors.errors import ExtractionError
from storage.database import make_engine, make_session_factory, upgrade_database
from storage.items import save_entries
from storage.models import Source

FEED_HEADERS = {"Content-Type": "application/rss+xml; charset=utf-8"}
PAGE_HEADERS = {"Content-Type": "text/html; charset=utf-8"}
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class SampleFeed:
    source_id: str
    language: str
    url: str
    path: Path
    pages: dict[str, Path]


@dataclass
class Timing:
    seconds: float = 0.0
    items: int = 0
    # CPU of this process and its workers, and of this process alone.
    cpu_s: float = 0.0
    own_cpu_s: float = 0.0

    @property
    def per_second(self) -> float:
        return self.items / self.seconds if self.seconds else 0.0


@dataclass
class IngestReport:
    entries: int
    workers: int
    pipeline: Timing = field(default_factory=Timing)
    floor: Timing = field(default_factory=Timing)
    stored: int = 0
    with_full_text: int = 0
    languages: dict[str, int] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.pipeline.per_second / self.floor.per_second

    @property
    def cpu_ratio(self) -> float:
        """Floor CPU over pipeline CPU per item: the ratio a busy machine
        disturbs least."""
        per_item = self.pipeline.cpu_s / self.pipeline.items
        return self.floor.cpu_s / self.floor.items / per_item


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Ingest benchmark: feed entries and their article pages read "
        "from disk through the pipeline's stages, against feedparser and "
        "trafilatura alone.",
    )
    parser.add_argument("--entries", type=int, default=5000, help="feed entries (5000)")
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="parse processes for both measurements (the setting's default; "
        "0 runs both in this process)",
    )
    parser.add_argument(
        "--chunk", type=int, default=25, help="feeds per alternating chunk (25)"
    )
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    if args.entries < 20 or args.chunk < 1:
        parser.error("--entries must be at least 20 and --chunk positive")
    return args


def write_samples(folder: Path, entries: int, seed: int) -> list[SampleFeed]:
    """Feeds of 20 teasers and one article page per entry, written to ``folder``."""
    rng = random.Random(seed)
    feeds = []
    for number in range(entries // 20):
        language = LANGUAGES[number % len(LANGUAGES)]
        site = f"https://www.portal-{number}.example"
        url = f"{site}/news/feed.xml"
        body, stories = make_feed(
            rng, url, f"{site}/news", 0, language, atom=number % 3 == 0, full=False
        )
        path = folder / f"feed-{number}.xml"
        path.write_bytes(body)
        pages = {}
        for index, story in enumerate(stories):
            page = folder / f"page-{number}-{index}.html"
            page.write_bytes(_page(rng, story, stories))
            pages[story.link] = page
        feeds.append(
            SampleFeed(f"ingest-{number:05d}", language.code, url, path, pages)
        )
    return feeds


def _page(rng: random.Random, story: Story, stories: list[Story]) -> bytes:
    # The feed's teaser is the article's first sentence; the page tells the
    # rest, 5 to 30 KB with its boilerplate.
    target = rng.randint(5_000, 30_000)
    related = rng.sample(stories, 5)
    page = b""
    for paragraphs in range(2, 80, 2):
        text = make_story(rng, story.language, story.link, paragraphs).paragraphs
        page = render_page(
            dataclasses.replace(story, paragraphs=story.paragraphs + text),
            rng,
            related,
        )
        if len(page) >= target:
            break
    return page


def run_pipeline(pool: Executor, feeds: list[SampleFeed], sessions) -> Timing:
    """The pipeline's stages on ``feeds``: parse, complete from pages, store."""
    started = time.perf_counter()
    parsing = {
        pool.submit(
            parse_source, "feed", feed.path.read_bytes(), feed.url, FEED_HEADERS,
            (feed.language,),
        ): feed
        for feed in feeds
    }  # fmt: skip
    completing: dict[Future, tuple[SampleFeed, list]] = {}
    for done in _as_done(parsing):
        feed = parsing[done]
        entries = done.result().entries
        pages = [
            pool.submit(
                complete_entry, entry, feed.pages[entry.link].read_bytes(),
                entry.link, PAGE_HEADERS,
            )
            for entry in entries
        ]  # fmt: skip
        completing[_all_of(pages)] = (feed, entries)

    items = 0
    for done in _as_done(completing):
        feed, entries = completing[done]
        completed = [
            _completed(entry, page)
            for entry, page in zip(entries, done.result(), strict=True)
        ]
        with sessions() as session:
            saved = save_entries(session, feed.source_id, completed, NOW, True)
            session.commit()
        items += saved.new
    return Timing(time.perf_counter() - started, items)


def run_floor(pool: Executor, feeds: list[SampleFeed]) -> Timing:
    """feedparser and trafilatura alone on the same bytes, in the same pool."""
    started = time.perf_counter()
    jobs = []
    for feed in feeds:
        jobs.append(pool.submit(parse_feed_alone, feed.path.read_bytes()))
        jobs += [
            pool.submit(extract_page_alone, path.read_bytes(), link)
            for link, path in feed.pages.items()
        ]
    wait(jobs)
    for job in jobs:
        job.result()
    items = sum(len(feed.pages) for feed in feeds)
    return Timing(time.perf_counter() - started, items)


def _as_done(futures):
    pending = set(futures)
    while pending:
        done, pending = wait(pending, return_when="FIRST_COMPLETED")
        yield from done


def _all_of(futures: list[Future]) -> Future:
    """A future done when all of ``futures`` are; its result is the list."""
    combined: Future = Future()
    remaining = [len(futures)]

    def finished(_future: Future) -> None:
        remaining[0] -= 1
        if remaining[0] == 0:
            combined.set_result(futures)

    for future in futures:
        future.add_done_callback(finished)
    return combined


def _completed(entry: Entry, page: Future) -> Entry:
    # As in a crawl, a page that holds no article leaves the entry as it was.
    try:
        return keep_feed_headline(entry, page.result())
    except ExtractionError:
        return entry


def run(args: argparse.Namespace) -> IngestReport:
    workers = Settings().parse_workers if args.workers is None else args.workers
    with tempfile.TemporaryDirectory(prefix="ingest-bench-") as name:
        folder = Path(name)
        feeds = write_samples(folder, args.entries, args.seed)
        engine = make_engine(f"sqlite:///{folder / 'bench.db'}")
        upgrade_database(engine)
        sessions = make_session_factory(engine)
        with sessions() as session:
            for feed in feeds:
                session.add(
                    Source(id=feed.source_id, name=feed.source_id, kind="feed",
                           url=feed.url, publisher="municipality",
                           languages=[feed.language], state="active",
                           created_at=NOW, updated_at=NOW, consecutive_failures=0)
                )  # fmt: skip
            session.commit()

        pool = make_parse_pool(workers) if workers else ThreadPoolExecutor(1)
        report = IngestReport(args.entries // 20 * 20, workers)
        monitor = TreeMonitor()
        try:
            if workers:
                start_parse_workers(pool, workers)
            wait([pool.submit(warm_up, 0.3) for _ in range(max(workers, 1) * 2)])

            for number, start in enumerate(range(0, len(feeds), args.chunk)):
                chunk = feeds[start : start + args.chunk]
                # Each goes first in every other chunk: a machine that gets
                # busier or quieter meanwhile favours neither.
                order = ("floor", "pipeline") if number % 2 else ("pipeline", "floor")
                for which in order:
                    cpu, own = monitor.cpu(), time.process_time()
                    if which == "floor":
                        timing = _add(report.floor, run_floor(pool, chunk))
                    else:
                        timing = _add(
                            report.pipeline, run_pipeline(pool, chunk, sessions)
                        )
                    timing.cpu_s += monitor.cpu() - cpu
                    timing.own_cpu_s += time.process_time() - own
        finally:
            pool.shutdown(cancel_futures=True)

        _describe_stored(report, sessions)
        engine.dispose()
    return report


def _add(total: Timing, part: Timing) -> Timing:
    total.seconds += part.seconds
    total.items += part.items
    return total


def _describe_stored(report: IngestReport, sessions) -> None:
    from sqlalchemy import func, select

    from storage.models import Item

    with sessions() as session:
        report.stored = session.scalar(select(func.count(Item.id))) or 0
        report.with_full_text = (
            session.scalar(
                select(func.count(Item.id)).where(func.length(Item.summary) > 400)
            )
            or 0
        )
        report.languages = dict(
            session.execute(
                select(Item.language, func.count(Item.id)).group_by(Item.language)
            ).all()
        )


def print_report(report: IngestReport) -> None:
    where = (
        f"{report.workers} worker processes"
        if report.workers
        else "one thread of this process"
    )
    print(
        f"Ingest benchmark: {report.entries} entries with their pages, both "
        f"measurements in {where}, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    header = (
        f"{'':<40}{'items':>7}{'wall s':>8}{'items/s':>9}{'CPU s':>8}{'main CPU s':>11}"
    )
    print(header)
    print("-" * len(header))
    for name, timing in (
        ("pipeline (parse, extract, label, store)", report.pipeline),
        ("floor (feedparser + trafilatura alone)", report.floor),
    ):
        print(
            f"{name:<40}{timing.items:>7}{timing.seconds:>8.2f}"
            f"{timing.per_second:>9.1f}{timing.cpu_s:>8.2f}{timing.own_cpu_s:>11.2f}"
        )
    languages = ", ".join(f"{k}: {v}" for k, v in sorted(report.languages.items()))
    print(
        f"ratio pipeline / floor, items/s: {report.ratio:.3f} (target 0.85: "
        f"{'met' if report.ratio >= 0.85 else 'MISSED'}); by CPU per item: "
        f"{report.cpu_ratio:.3f}"
    )
    if report.workers:
        _print_extra_cpu(report)
    print(
        f"stored {report.stored} items, {report.with_full_text} with the page's "
        f"full text; languages {languages}"
    )


def _print_extra_cpu(report: IngestReport) -> None:
    # Where the pipeline's time beyond the floor goes: the parse workers
    # parse, extract, sanitise and label; this process stores.
    def per_item(timing: Timing, workers: bool) -> float:
        cpu = timing.cpu_s - timing.own_cpu_s if workers else timing.own_cpu_s
        return 1000 * cpu / timing.items

    in_workers = per_item(report.pipeline, True) - per_item(report.floor, True)
    here = per_item(report.pipeline, False) - per_item(report.floor, False)
    print(
        f"pipeline CPU beyond the floor, ms per item: {in_workers:.2f} in the "
        f"workers (parse, extract, sanitise, label), {here:.2f} in this process "
        "(store, with the search index)"
    )


def main(argv: list[str] | None = None) -> IngestReport:
    args = parse_args(argv)
    report = run(args)
    print_report(report)
    return report


if __name__ == "__main__":
    main()
