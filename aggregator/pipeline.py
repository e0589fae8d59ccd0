"""One crawl: due sources are fetched, parsed and stored, each source on its
own, so that one failure stops nothing else.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor
from concurrent.futures.process import BrokenProcessPool
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from aggregator import polling
from aggregator.clock import Clock
from aggregator.crawler import Crawler, FetchResult
from aggregator.errors import FetchError
from aggregator.parsing import ParsedSource, parse_source
from aggregator.releases import complete_new_releases, complete_short_entries
from aggregator.settings import Settings
from aggregator.websub import HubLink, Subscriptions
from aggregator.writer import Writer
from extractors.entry import Entry
from extractors.errors import ExtractionError
from storage.fetches import FetchRecord, HealthChange, record_fetch
from storage.items import publication_times, save_entries
from storage.models import Source
from storage.sources import due_sources

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceRef:
    """What a crawl needs of a source, read once so no ORM object is shared."""

    id: str
    url: str
    kind: str
    languages: tuple[str, ...]
    poll_interval: int | None
    consecutive_failures: int
    etag: str | None
    last_modified: str | None
    fetched_before: bool
    selector: str | None = None

    @classmethod
    def of(cls, source: Source) -> SourceRef:
        return cls(
            id=source.id,
            url=source.url,
            kind=source.kind,
            languages=tuple(source.languages or ()),
            poll_interval=source.poll_interval,
            consecutive_failures=source.consecutive_failures,
            etag=source.etag,
            last_modified=source.last_modified,
            fetched_before=source.last_success_at is not None,
            selector=source.selector,
        )


@dataclass
class CrawlSummary:
    """The summary line of one crawl run."""

    sources: int = 0
    fetched: int = 0
    not_modified: int = 0
    failed: int = 0
    new_items: int = 0
    updated_items: int = 0
    elapsed_s: float = 0.0
    # Set after the crawl, when dedup and the classifiers have read the new
    # items.
    placed_items: int = 0
    classified_items: int = 0

    def add(self, record: FetchRecord) -> None:
        if record.outcome == "error":
            self.failed += 1
        elif record.outcome == "not_modified":
            self.not_modified += 1
        else:
            self.fetched += 1
        self.new_items += record.items_new
        self.updated_items += record.items_updated

    def __str__(self) -> str:
        return (
            f"{self.sources} sources: {self.fetched} fetched, "
            f"{self.not_modified} not modified, {self.failed} failed; "
            f"{self.new_items} new items, {self.updated_items} updated "
            f"in {self.elapsed_s:.1f} s; {self.placed_items} items placed in "
            f"stories, {self.classified_items} classified"
        )


Progress = Callable[[FetchRecord], None]

# Sources a parse worker may have in hand, parsing or parsed and waiting for
# the writer. Enough to keep every worker busy and the writer's batches full;
# without a bound, a crawl whose writer falls behind holds every parsed feed
# of the crawl in memory (40 MB of entries at 2,000 feeds).
# Limitation: bodies fetched while every slot is taken wait for one, and
# their number is not bounded (17 MB at the peak of a first crawl of 2,000
# feeds); a fetch is not held back, as it may have waited seconds for its
# host's turn.
BACKLOG_PER_PARSE_WORKER = 16


class Backlog:
    """A bound on the sources between their fetch and their write."""

    def __init__(self, size: int) -> None:
        self._slots = asyncio.Semaphore(size)

    @asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        async with self._slots:
            yield

    @asynccontextmanager
    async def set_aside(self) -> AsyncIterator[None]:
        """Give the slot back meanwhile: fetching article pages waits on the
        network and the host's politeness, and must not hold up the parsing
        of other sources."""
        self._slots.release()
        try:
            yield
        finally:
            await self._slots.acquire()


class Pipeline:
    """Runs crawls: built once per crawl with everything it needs."""

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        crawler: Crawler,
        clock: Clock,
        rng: random.Random | None = None,
        parse_pool: Executor | None = None,
    ) -> None:
        self._settings = settings
        self._sessions = sessions
        self._crawler = crawler
        self._clock = clock
        self._rng = rng or random.Random()
        # None parses on the event loop's helper threads.
        self._parse_pool = parse_pool
        self._writer = Writer(sessions)
        self._default_interval = timedelta(minutes=settings.poll_interval_minutes)
        self._websub = Subscriptions(settings, sessions, crawler, clock)
        workers = max(settings.parse_workers, 1) if parse_pool is not None else 1
        self._backlog = Backlog(BACKLOG_PER_PARSE_WORKER * workers)

    def close(self) -> None:
        self._writer.close()

    async def renew_subscriptions(self) -> None:
        """Renew the WebSub subscriptions whose lease is running out."""
        await self._websub.renew_due()

    def due(self) -> list[SourceRef]:
        with self._sessions() as session:
            return [SourceRef.of(s) for s in due_sources(session, self._clock.now())]

    async def crawl_due(self, progress: Progress | None = None) -> CrawlSummary:
        """Crawl every due source concurrently and return the summary."""
        started = time.monotonic()
        summary = CrawlSummary()
        await self.renew_subscriptions()

        async def crawl(ref: SourceRef) -> None:
            record = await self.crawl_source(ref)
            summary.add(record)
            if progress is not None:
                progress(record)

        # The due sources are read a thousand at a time, which bounds the
        # bodies held at once; a source is crawled once per run whatever its
        # next fetch time says.
        crawled: set[str] = set()
        while refs := [ref for ref in self.due() if ref.id not in crawled]:
            summary.sources += len(refs)
            crawled.update(ref.id for ref in refs)
            await asyncio.gather(*(crawl(ref) for ref in refs))
        summary.elapsed_s = time.monotonic() - started
        logger.info(
            "Crawl finished",
            extra={
                "sources": summary.sources,
                "fetched": summary.fetched,
                "not_modified": summary.not_modified,
                "failed": summary.failed,
                "items_new": summary.new_items,
                "items_updated": summary.updated_items,
                "elapsed_ms": int(summary.elapsed_s * 1000),
            },
        )
        return summary

    async def crawl_source(self, ref: SourceRef) -> FetchRecord:
        """Fetch, parse and store one source; every failure is recorded on it."""
        started_at = self._clock.now()
        started = time.monotonic()

        try:
            result = await self._crawler.fetch(ref.url, ref.etag, ref.last_modified)
        except FetchError as error:
            return await self._fail(ref, started_at, started, error)

        if result.not_modified:
            # A 304 has no body to parse: only the validators and the
            # server's freshness hint are worth keeping.
            record = FetchRecord(
                ref.id, ref.url, started_at, result.elapsed_ms, "not_modified",
                status=304, etag=result.headers.get("etag", ref.etag),
                last_modified=result.headers.get("last-modified", ref.last_modified),
                moved_to=result.moved_to,
            )  # fmt: skip
            change = await self._writer.write(
                self._store_success, ref, record, result, None
            )
            self._log_change(ref, change)
            return record

        async with self._backlog.held():
            record, hub = await self._parse_and_store(ref, result, started_at, started)
        await self._websub.follow(ref.id, hub)
        return record

    async def _parse_and_store(
        self, ref: SourceRef, result: FetchResult, started_at: datetime, started: float
    ) -> tuple[FetchRecord, HubLink | None]:
        try:
            parsed = await asyncio.get_running_loop().run_in_executor(
                self._parse_pool, parse_source, ref.kind, result.body, result.url,
                result.headers, ref.languages, ref.selector,
            )  # fmt: skip
        except ExtractionError as error:
            failure = FetchError(error.kind, str(error), url=ref.url, status=200)
            return await self._fail(ref, started_at, started, failure), None
        except BrokenProcessPool:
            # Limitation: every source being parsed when a worker dies fails
            # with it, not only the one whose body killed it.
            failure = FetchError(
                "not_a_feed", "a parse worker died reading this body", url=ref.url
            )
            return await self._fail(ref, started_at, started, failure), None

        # The body is not needed once parsed; a source waiting for its
        # article pages or the writer should not keep it.
        result = dataclasses.replace(result, body=b"")
        entries, ttl, hub = (
            parsed.entries,
            parsed.ttl_minutes,
            _hub_link(parsed, result),
        )
        found = len(entries)
        limit = self._settings.max_releases_per_crawl
        if ref.kind == "page":
            entries = await complete_new_releases(
                self._crawler, self._sessions, ref.id, entries, limit,
                self._parse_pool, self._backlog.set_aside,
            )  # fmt: skip
        elif self._settings.full_text_min_words:
            entries = await complete_short_entries(
                self._crawler, self._sessions, ref.id, entries, limit,
                self._settings.full_text_min_words, self._parse_pool,
                self._backlog.set_aside,
            )  # fmt: skip

        record, change = await self._writer.write(
            self._store_entries, ref, result, entries, found, ttl, started_at, started
        )
        self._log_change(ref, change)
        return record, hub

    def _store_entries(
        self,
        session: Session,
        ref: SourceRef,
        result: FetchResult,
        entries: list[Entry],
        found: int,
        ttl: int | None,
        started_at: datetime,
        started: float,
    ) -> tuple[FetchRecord, HealthChange]:
        saved = save_entries(
            session, ref.id, entries, self._clock.now(), not ref.fetched_before
        )
        record = FetchRecord(
            ref.id, ref.url, started_at, _elapsed_ms(started), "ok",
            status=result.status, entries_found=found,
            items_new=saved.new, items_updated=saved.updated,
            etag=result.headers.get("etag"),
            last_modified=result.headers.get("last-modified"),
            moved_to=result.moved_to,
        )  # fmt: skip
        return record, self._store_success(session, ref, record, result, ttl)

    def _store_success(
        self,
        session: Session,
        ref: SourceRef,
        record: FetchRecord,
        result: FetchResult,
        ttl: int | None,
    ) -> HealthChange:
        now = self._clock.now()
        hints = [polling.cache_lifetime(result.headers, now)]
        if ttl:
            hints.append(timedelta(minutes=ttl))
        hint = max((h for h in hints if h is not None), default=None)
        interval = polling.next_interval(
            ref.poll_interval,
            publication_times(session, ref.id),
            self._default_interval,
            hint,
        )
        interval = self._websub.poll_interval(session, ref.id, interval, now)
        return record_fetch(session, record, now + interval)

    async def _fail(
        self, ref: SourceRef, started_at: datetime, started: float, error: FetchError
    ) -> FetchRecord:
        record = FetchRecord(
            ref.id, ref.url, started_at, _elapsed_ms(started), "error",
            status=error.status, error_kind=error.kind, error=str(error),
        )  # fmt: skip
        now = self._clock.now()
        wait = None
        if error.status in (429, 503):
            wait = polling.retry_after(error.headers, now)
        if wait is None:
            interval = timedelta(
                minutes=ref.poll_interval or self._settings.poll_interval_minutes
            )
            wait = polling.backoff(ref.consecutive_failures + 1, interval, self._rng)

        change = await self._writer.write(
            record_fetch, record, now + wait, error.status == 410
        )
        logger.warning(
            "Source failed; it will be retried later",
            extra={
                "source_id": ref.id,
                "url": ref.url,
                "error_kind": error.kind,
                "error": str(error),
                "status": error.status,
                "failures": ref.consecutive_failures + 1,
                "retry_at": (now + wait).isoformat(),
            },
        )
        self._log_change(ref, change)
        return record

    def _log_change(self, ref: SourceRef, change: HealthChange) -> None:
        if change.retired:
            logger.warning(
                "Source is gone (HTTP 410); it will not be fetched again until "
                "sources.yaml gives it a new address",
                extra={"source_id": ref.id, "url": ref.url},
            )
        if change.moved_from:
            logger.warning(
                "Source moved after repeated permanent redirects",
                extra={"source_id": ref.id, "url": change.moved_from},
            )


def extract_entries(
    ref: SourceRef, result: FetchResult
) -> tuple[list[Entry], int | None, HubLink | None]:
    """The entries of a fetched (or pushed) body, its ttl and its WebSub hub."""
    parsed = parse_source(
        ref.kind, result.body, result.url, result.headers, ref.languages, ref.selector
    )
    return parsed.entries, parsed.ttl_minutes, _hub_link(parsed, result)


def _hub_link(parsed: ParsedSource, result: FetchResult) -> HubLink | None:
    return HubLink.of(parsed.hub, parsed.self_url, result.url)


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
