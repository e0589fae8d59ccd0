"""What changed last in the rows the portal shows, read in one small query.

The portal's validators (ETag, Last-Modified) are built from these marks
instead of from rendered pages, so that answering "not modified" costs one
query of indexed max() look-ups and no rendering.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ScalarSelect, func, select
from sqlalchemy.orm import Session

from storage.models import FetchLog, Item, Region, Source, Story


@dataclass(frozen=True)
class ChangeMark:
    """The newest change of each kind: compared between requests, never shown.

    ``parts`` changes whenever a row the portal shows is added, edited,
    classified, placed in a story or curated; ``last_modified`` is the latest
    of the timestamps among them.
    """

    parts: tuple[object, ...]
    last_modified: datetime | None


def change_mark(
    session: Session, health: bool = False, regions: bool = False
) -> ChangeMark:
    """The mark of the items, stories and sources; with ``health``, also of
    the crawler's fetches (the sources page), with ``regions`` of the region
    tree (region pages and feeds).

    Every part is an indexed max() or a count of a small table.
    """
    newest_item = select(func.max(Item.id)).scalar_subquery()
    moments: list[ScalarSelect[Any]] = [
        # A new item: its first sight is the newest of all.
        select(Item.first_seen_at).where(Item.id == newest_item).scalar_subquery(),
        # An edited item, a reclassified one, a story that gained, lost or
        # reordered items, a source renamed or curated.
        _newest(Item.changed_at),
        _newest(Item.classified_at),
        _newest(Story.updated_at),
        _newest(Source.updated_at),
    ]
    counts: list[ScalarSelect[Any]] = [
        newest_item,
        select(func.count()).select_from(Source).scalar_subquery(),
    ]
    if health:
        moments.append(_newest(Source.last_fetched_at))
        counts.append(select(func.max(FetchLog.id)).scalar_subquery())
    if regions:
        counts.append(select(func.count()).select_from(Region).scalar_subquery())

    row = session.execute(select(*moments, *counts)).one()
    stamps = [value for value in row[: len(moments)] if value is not None]
    return ChangeMark(
        parts=tuple(_comparable(value) for value in row),
        last_modified=max(stamps, default=None),
    )


def _newest(column: Any) -> ScalarSelect[Any]:
    return select(func.max(column)).scalar_subquery()


def _comparable(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value
