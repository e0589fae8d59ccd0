"""What changed last in the rows the portal shows, read in one small query.

The portal's validators (ETag, Last-Modified) are built from these marks
instead of from rendered pages, so that answering "not modified" costs one
query of indexed max() look-ups and no rendering.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ScalarSelect, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from storage.models import AuditEntry, Feature, FetchLog, Item, Region, Source, Story


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
    connection: Connection,
    health: bool = False,
    regions: bool = False,
    now: datetime | None = None,
) -> ChangeMark:
    """The mark of the items, stories and sources; with ``health``, also of
    the crawler's fetches (the sources page), with ``regions`` of the region
    tree (region pages and feeds).

    Every part is an indexed max() or a count of a small table. Read on a
    bare connection: an ORM session would cost more than the query. With
    ``now``, features that ran out by then change the mark too: a featured
    story leaves its page when its time is up, with no write to tell.
    """
    sql, moments = _mark_query(connection.dialect.name, health, regions)
    # The driver's own cursor: SQLAlchemy's result object would cost more
    # than the query on SQLite.
    cursor = connection.connection.cursor()
    try:
        cursor.execute(sql)
        row = cursor.fetchone()
    finally:
        cursor.close()
    assert row is not None
    stamps = [_moment(value) for value in row[:moments] if value is not None]
    parts = tuple(str(value) for value in row)
    open_features = row[-1]
    if now is not None and open_features:
        running = select(func.count()).where(
            Feature.ended_at.is_(None), Feature.until > now
        )
        parts += (connection.execute(running).scalar_one(),)
    return ChangeMark(
        parts=parts,
        last_modified=max(stamps, default=None),
    )


@functools.cache
def _mark_query(dialect: str, health: bool, regions: bool) -> tuple[str, int]:
    """The query's SQL for ``dialect``, compiled once: building and hashing
    the statement for each request would cost more than running it."""
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
    # Limitation: an item deleted alone (not with its source) changes no
    # part, so pages listing it keep their validators until the next change.
    counts: list[ScalarSelect[Any]] = [
        newest_item,
        select(func.count()).select_from(Source).scalar_subquery(),
        # Every editorial action is audited: approving, hiding, featuring,
        # correcting a title or a region all add a row.
        select(func.max(AuditEntry.id)).scalar_subquery(),
    ]
    if health:
        moments.append(_newest(Source.last_fetched_at))
        counts.append(select(func.max(FetchLog.id)).scalar_subquery())
    if regions:
        # Limitation: a region renamed in place (same codes, same count) keeps
        # the old validators until anything else changes.
        counts.append(select(func.count()).select_from(Region).scalar_subquery())
    # Last: features not ended by an editor, which may run out with time.
    counts.append(
        select(func.count())
        .select_from(Feature)
        .where(Feature.ended_at.is_(None))
        .scalar_subquery()
    )
    statement = select(*moments, *counts)
    compiled = statement.compile(dialect=_DIALECTS[dialect]())
    return str(compiled), len(moments)


def _newest(column: Any) -> ScalarSelect[Any]:
    return select(func.max(column)).scalar_subquery()


def _moment(value: object) -> datetime:
    """A timestamp as the driver hands it back (SQLite: text), in UTC."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    assert isinstance(moment, datetime)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


_DIALECTS = {"sqlite": sqlite.dialect, "postgresql": postgresql.dialect}
