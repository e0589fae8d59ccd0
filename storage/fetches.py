"""Recording fetch attempts on the fetch log and on the source's health."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import FetchLog, Source

MOVES_NEEDED = 3


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
    moved_to: str | None = None


@dataclass(frozen=True)
class HealthChange:
    """What recording a fetch changed beyond the counters."""

    moved_from: str | None = None
    retired: bool = False


def record_fetch(
    session: Session,
    record: FetchRecord,
    next_fetch_at: datetime,
    gone: bool = False,
) -> HealthChange:
    """Append to the fetch log and update the source's health. Caller commits.

    ``gone`` (HTTP 410) retires the source: the site says the feed will not
    come back, so asking again only burdens it.
    """
    session.add(log_row(record))

    source = session.get(Source, record.source_id)
    if source is None:
        return HealthChange()
    source.last_fetched_at = record.started_at
    source.next_fetch_at = next_fetch_at

    if record.outcome == "error":
        source.last_error = record.error
        source.last_error_kind = record.error_kind
        source.consecutive_failures += 1
        if gone:
            source.state = "gone"
            source.retired_at = record.started_at
            source.state_reason = f"the server answered 410 Gone for {record.url}"
            return HealthChange(retired=True)
        return HealthChange()

    source.last_success_at = record.started_at
    source.last_error = None
    source.last_error_kind = None
    source.consecutive_failures = 0
    if record.etag is not None or record.last_modified is not None:
        source.etag = record.etag
        source.last_modified = record.last_modified
    return _track_move(source, record.moved_to)


def _track_move(source: Source, moved_to: str | None) -> HealthChange:
    if moved_to is None or moved_to == source.url:
        source.moved_to = None
        source.moved_count = 0
        return HealthChange()

    if source.moved_to == moved_to:
        source.moved_count += 1
    else:
        source.moved_to = moved_to
        source.moved_count = 1
    if source.moved_count < MOVES_NEEDED:
        return HealthChange()

    old = source.url
    source.url = moved_to
    source.moved_to = None
    source.moved_count = 0
    source.state_reason = f"moved from {old} after {MOVES_NEEDED} permanent redirects"
    return HealthChange(moved_from=old)


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


def log_row(record: FetchRecord) -> FetchLog:
    """The fetch log's row of one fetch or push."""
    return FetchLog(
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
