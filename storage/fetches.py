"""Recording fetch attempts on the fetch log and on the source's health."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import FetchLog, Source


@dataclass(frozen=True)
class FetchRecord:
    """What one fetch of a source came to, as the pipeline saw it."""

    source_id: str
    url: str
    started_at: datetime
    elapsed_ms: int
    outcome: str  # ok, not_modified or error
    status: int | None = None
    error_kind: str | None = None
    error: str | None = None
    entries_found: int = 0
    items_new: int = 0
    items_updated: int = 0
    etag: str | None = None
    last_modified: str | None = None


def record_fetch(
    session: Session, record: FetchRecord, next_fetch_at: datetime
) -> None:
    """Append to the fetch log and update the source's health. Caller commits."""
    session.add(
        FetchLog(
            source_id=record.source_id,
            url=record.url,
            started_at=record.started_at,
            elapsed_ms=record.elapsed_ms,
            status=record.status,
            outcome=record.outcome,
            error_kind=record.error_kind,
            error=record.error,
            entries_found=record.entries_found,
            items_new=record.items_new,
            items_updated=record.items_updated,
        )
    )

    source = session.get(Source, record.source_id)
    if source is None:
        return
    source.last_fetched_at = record.started_at
    source.next_fetch_at = next_fetch_at
    if record.outcome == "error":
        source.last_error = record.error
        source.last_error_kind = record.error_kind
        source.consecutive_failures += 1
        return
    source.last_success_at = record.started_at
    source.last_error = None
    source.last_error_kind = None
    source.consecutive_failures = 0
    if record.etag is not None or record.last_modified is not None:
        source.etag = record.etag
        source.last_modified = record.last_modified


def recent_fetches(
    session: Session, source_id: str, since: datetime | None = None, limit: int = 20
) -> list[FetchLog]:
    query = (
        select(FetchLog)
        .where(FetchLog.source_id == source_id)
        .order_by(FetchLog.started_at.desc(), FetchLog.id.desc())
        .limit(limit)
    )
    if since is not None:
        query = query.where(FetchLog.started_at >= since)
    return list(session.scalars(query))


def backoff(failures: int, interval: timedelta) -> timedelta:
    """The wait after ``failures`` failures in a row: doubling, a day at most."""
    if failures <= 0:
        return interval
    return min(interval * (2 ** min(failures - 1, 10)), timedelta(days=1))
