"""How well each source reaches readers: its state, its failures, and the
delay from publication to storage of its new items over a recent window."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import FetchLog, Item, Source

WINDOW = timedelta(days=30)
# A median delay under this is what a reader calls "fresh"; above it the
# health names the likeliest reason.
LATE = timedelta(hours=2)


@dataclass(frozen=True)
class Freshness:
    """Delays from publication to storage of a source's new items."""

    items: int
    undated: int
    median_delay: timedelta | None
    p90_delay: timedelta | None

    @property
    def undated_share(self) -> float:
        return self.undated / self.items if self.items else 0.0


NO_ITEMS = Freshness(0, 0, None, None)


@dataclass(frozen=True)
class SourceHealth:
    """Everything an operator needs to judge one source at a glance."""

    status: str  # ok, failing, gone, retired, waiting
    failures: int
    error_kind: str | None
    error: str | None
    next_fetch_at: datetime | None
    fetches: int
    failed_fetches: int
    freshness: Freshness
    poll_interval: timedelta | None

    @property
    def late_because(self) -> str | None:
        """Why the source's items reach readers late, or None when they do not.

        Undated items cannot be measured at all; failed fetches delay every
        item behind them; otherwise a poll interval near the delay explains it,
        and what is left is a source that dates its items before it publishes
        them.
        """
        fresh = self.freshness
        if fresh.items and fresh.undated_share >= 0.5:
            return "no dates"
        if fresh.median_delay is None or fresh.median_delay <= LATE:
            return None
        if self.fetches and self.failed_fetches / self.fetches >= 0.2:
            return "errors"
        if self.poll_interval and self.poll_interval * 2 >= fresh.median_delay:
            return "slow polling"
        return "published late by the source"


def freshness(
    session: Session, now: datetime, source_id: str | None = None
) -> dict[str, Freshness]:
    """Freshness per source over the last 30 days of first sightings."""
    # Limitation: the delays are read and ranked in Python, which is fine for
    # thousands of sources but not for a portal storing millions of items a
    # month; a percentile query per database would then be needed.
    query = select(Item.source_id, Item.date_known, Item.delay_seconds).where(
        Item.first_seen_at >= now - WINDOW
    )
    if source_id is not None:
        query = query.where(Item.source_id == source_id)

    delays: dict[str, list[int]] = defaultdict(list)
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for item_source, date_known, delay in session.execute(query):
        counts[item_source][0] += 1
        if not date_known:
            counts[item_source][1] += 1
        if delay is not None:
            delays[item_source].append(max(delay, 0))

    return {
        key: Freshness(
            items=total,
            undated=undated,
            median_delay=_percentile(delays[key], 50),
            p90_delay=_percentile(delays[key], 90),
        )
        for key, (total, undated) in counts.items()
    }


def source_health(session: Session, now: datetime) -> dict[str, SourceHealth]:
    """The health of every source, keyed by source id."""
    fresh = freshness(session, now)
    attempts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    query = (
        select(FetchLog.source_id, FetchLog.outcome, func.count())
        .where(FetchLog.started_at >= now - WINDOW)
        .group_by(FetchLog.source_id, FetchLog.outcome)
    )
    for source_id, outcome, count in session.execute(query):
        attempts[source_id][0] += count
        if outcome == "error":
            attempts[source_id][1] += count

    return {
        source.id: SourceHealth(
            status=_status(source),
            failures=source.consecutive_failures,
            error_kind=source.last_error_kind,
            error=source.last_error or source.state_reason,
            next_fetch_at=source.next_fetch_at if source.state == "active" else None,
            fetches=attempts[source.id][0],
            failed_fetches=attempts[source.id][1],
            freshness=fresh.get(source.id, NO_ITEMS),
            poll_interval=_interval(source),
        )
        for source in session.scalars(select(Source))
    }


def _status(source: Source) -> str:
    if source.state in ("gone", "retired"):
        return source.state
    if source.last_error:
        return "failing"
    return "ok" if source.last_success_at else "waiting"


def _interval(source: Source) -> timedelta | None:
    # The gap the crawler chose after the last fetch is the interval in force,
    # whether it came from the source's rhythm, its hints or its settings.
    if source.next_fetch_at is None or source.last_fetched_at is None:
        return None
    return max(source.next_fetch_at - source.last_fetched_at, timedelta(0))


def _percentile(values: list[int], percent: int) -> timedelta | None:
    if not values:
        return None
    if len(values) == 1:
        return timedelta(seconds=values[0])
    cuts = statistics.quantiles(sorted(values), n=100, method="inclusive")
    return timedelta(seconds=cuts[percent - 1])


def short_duration(value: timedelta | None) -> str:
    """A delay as a person reads it: 45 s, 12 min, 3 h 20 min, 2 d 4 h."""
    if value is None:
        return "–"
    seconds = int(value.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"
