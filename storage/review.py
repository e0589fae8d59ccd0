"""The review queue of items waiting for an editor, and what editors see of a
source's output: items per day and the share of its reviewed items rejected.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, literal_column, select
from sqlalchemy.orm import Session, joinedload

from storage.items import items_in_region, items_in_topic
from storage.models import Item
from storage.publication import PENDING, REJECTED

ACTIVITY_DAYS = 30


@dataclass(frozen=True)
class QueueFilter:
    """What an editor narrowed the queue to; None: everything."""

    source_id: str | None = None
    region: str | None = None
    topic: str | None = None
    language: str | None = None


def review_queue(
    session: Session, filters: QueueFilter, limit: int = 100
) -> list[Item]:
    """Items waiting for review, oldest first (they have waited longest),
    each with its source."""
    # Limitation: the queue reads every item's review state (no index, see
    # Item.review): about 0.2 s at 200,000 items on SQLite.
    query = (
        select(Item)
        .options(joinedload(Item.source))
        .where(Item.review == PENDING)
        .order_by(Item.first_seen_at, Item.id)
        .limit(limit)
    )
    if filters.source_id:
        query = query.where(Item.source_id == filters.source_id)
    if filters.language:
        query = query.where(Item.language == filters.language)
    if filters.region:
        query = query.where(Item.id.in_(items_in_region(filters.region)))
    if filters.topic:
        query = query.where(Item.id.in_(items_in_topic(filters.topic)))
    return list(session.scalars(query))


def queue_sources(session: Session) -> list[str]:
    """The sources that have items waiting, for the queue's filter."""
    query = select(Item.source_id).where(Item.review == PENDING).distinct()
    return sorted(session.scalars(query))


@dataclass(frozen=True)
class SourceActivity:
    """Items stored per day over the last days (oldest first) and the share
    of the items editors reviewed that they rejected (None: none reviewed)."""

    per_day: tuple[int, ...]
    rejected_share: float | None

    @property
    def average(self) -> float:
        return sum(self.per_day) / len(self.per_day) if self.per_day else 0.0


def source_activity(
    session: Session, now: datetime, days: int = ACTIVITY_DAYS
) -> dict[str, SourceActivity]:
    """Every source with items: its items per day and share rejected."""
    first = (now - timedelta(days=days - 1)).date()
    since = datetime.combine(first, datetime.min.time(), tzinfo=now.tzinfo)
    day = _utc_day(session, Item.first_seen_at)
    counts: dict[str, dict[date, int]] = defaultdict(dict)
    rows = session.execute(
        select(Item.source_id, day, func.count())
        .where(Item.first_seen_at >= since)
        .group_by(Item.source_id, day)
    )
    for source_id, seen_on, count in rows:
        counts[source_id][_as_date(seen_on)] = int(count)

    reviewed: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    decided = session.execute(
        select(Item.source_id, Item.review, func.count())
        .where(Item.reviewed_at.is_not(None))
        .group_by(Item.source_id, Item.review)
    )
    for source_id, review, count in decided:
        reviewed[source_id][1 if review == REJECTED else 0] += int(count)

    days_shown = [first + timedelta(days=n) for n in range(days)]
    activity = {}
    for source_id in set(counts) | set(reviewed):
        kept, rejected = reviewed.get(source_id, (0, 0))
        total = kept + rejected
        activity[source_id] = SourceActivity(
            tuple(counts[source_id].get(each, 0) for each in days_shown),
            rejected / total if total else None,
        )
    return activity


def _utc_day(session: Session, column: Any) -> Any:
    # PostgreSQL would cut the day in the session's time zone; the portal's
    # days are UTC. SQLite stores UTC already.
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone(literal_column("'UTC'"), column))
    return func.date(column)


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))
