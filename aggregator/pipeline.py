"""One crawl: due sources are fetched, parsed and stored, one after another
in short steps, each source on its own so that one failure stops nothing else.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from aggregator.clock import Clock
from aggregator.crawler import Crawler, FetchResult
from aggregator.errors import FetchError
from aggregator.settings import Settings
from extractors.entry import Entry
from extractors.errors import ExtractionError
from extractors.feeds import parse_feed
from extractors.pages import parse_listing
from storage.fetches import FetchRecord, backoff, record_fetch
from storage.items import save_entries
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
            f"in {self.elapsed_s:.1f} s"
        )


Progress = Callable[[FetchRecord], None]


class Pipeline:
    """Runs crawls: built once at start-up with everything it needs."""

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        crawler: Crawler,
        clock: Clock,
    ) -> None:
        self._settings = settings
        self._sessions = sessions
        self._crawler = crawler
        self._clock = clock

    def due(self) -> list[SourceRef]:
        with self._sessions() as session:
            return [SourceRef.of(s) for s in due_sources(session, self._clock.now())]

    async def crawl_due(self, progress: Progress | None = None) -> CrawlSummary:
        """Crawl every due source concurrently and return the summary."""
        started = time.monotonic()
        refs = self.due()
        summary = CrawlSummary(sources=len(refs))

        async def crawl(ref: SourceRef) -> None:
            record = await self.crawl_source(ref)
            summary.add(record)
            if progress is not None:
                progress(record)

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
            return self._fail(
                ref, started_at, started, error.kind, str(error), error.status
            )

        if result.not_modified:
            record = FetchRecord(
                ref.id, ref.url, started_at, result.elapsed_ms, "not_modified",
                status=304, etag=result.headers.get("etag", ref.etag),
                last_modified=result.headers.get("last-modified", ref.last_modified),
            )  # fmt: skip
            self._store(record, self._next_fetch(ref, record, None))
            return record

        try:
            entries, ttl = await asyncio.to_thread(_extract, ref, result)
        except ExtractionError as error:
            return self._fail(
                ref, started_at, started, error.kind, str(error), result.status
            )

        now = self._clock.now()
        with self._sessions() as session:
            saved = save_entries(session, ref.id, entries, now)
            record = FetchRecord(
                ref.id, ref.url, started_at, _elapsed_ms(started), "ok",
                status=result.status, entries_found=len(entries),
                items_new=saved.new, items_updated=saved.updated,
                etag=result.headers.get("etag"),
                last_modified=result.headers.get("last-modified"),
            )  # fmt: skip
            record_fetch(session, record, self._next_fetch(ref, record, ttl))
            session.commit()

        logger.debug(
            "Source crawled",
            extra={"source_id": ref.id, "url": ref.url, "items_new": saved.new},
        )
        return record

    def _fail(
        self,
        ref: SourceRef,
        started_at: datetime,
        started: float,
        kind: str,
        message: str,
        status: int | None,
    ) -> FetchRecord:
        record = FetchRecord(
            ref.id, ref.url, started_at, _elapsed_ms(started), "error",
            status=status, error_kind=kind, error=message,
        )  # fmt: skip
        retry_at = self._next_fetch(ref, record, None)
        self._store(record, retry_at)
        logger.warning(
            "Source failed; it will be retried later",
            extra={
                "source_id": ref.id,
                "url": ref.url,
                "error_kind": kind,
                "error": message,
                "status": status,
                "failures": ref.consecutive_failures + 1,
                "retry_at": retry_at.isoformat(),
            },
        )
        return record

    def _store(self, record: FetchRecord, next_fetch_at: datetime) -> None:
        with self._sessions() as session:
            record_fetch(session, record, next_fetch_at)
            session.commit()

    def _next_fetch(
        self, ref: SourceRef, record: FetchRecord, hint_minutes: int | None
    ) -> datetime:
        interval = timedelta(
            minutes=ref.poll_interval or self._settings.poll_interval_minutes
        )
        if record.outcome == "error":
            return self._clock.now() + backoff(ref.consecutive_failures + 1, interval)
        if hint_minutes:
            # A feed's <ttl> asks readers not to come back sooner.
            interval = max(interval, timedelta(minutes=hint_minutes))
        return self._clock.now() + interval


def _extract(ref: SourceRef, result: FetchResult) -> tuple[list[Entry], int | None]:
    if ref.kind == "page":
        entries = parse_listing(result.body, result.url, result.headers)
        ttl = None
    else:
        feed = parse_feed(result.body, result.url, result.headers)
        entries, ttl = feed.entries, feed.ttl_minutes

    # Limitation: the language is the one the entry, the feed or the source
    # declares; detection from the text comes with the extraction work, so a
    # CMS that declares its site default mislabels foreign-language items.
    fallback = ref.languages[0] if len(ref.languages) == 1 else ""
    return [
        entry if entry.language else dataclasses.replace(entry, language=fallback)
        for entry in entries
    ], ttl


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
