"""How well each source reaches readers: freshness over a recent window."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Item

WINDOW = timedelta(days=30)


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


def _percentile(values: list[int], percent: int) -> timedelta | None:
    if not values:
        return None
    if len(values) == 1:
        return timedelta(seconds=values[0])
    cuts = statistics.quantiles(sorted(values), n=100, method="inclusive")
    return timedelta(seconds=cuts[percent - 1])
