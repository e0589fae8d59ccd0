"""Queries on the region tree: upserting nodes, reading them, descendants."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from storage.models import Region

FIELDS = (
    "parent",
    "level",
    "country",
    "name",
    "names",
    "population",
    "path",
    "replaces",
    "origin",
)


@dataclass(frozen=True, slots=True)
class RegionChanges:
    """What an upsert did."""

    added: int
    changed: int
    unchanged: int


def upsert_regions(
    session: Session, rows: Sequence[dict[str, Any]], keep_origin: str | None = None
) -> RegionChanges:
    """Insert new nodes and update those that differ, comparing in memory.

    Each row has ``code`` and every field of FIELDS. Rows for codes stored
    with origin ``keep_origin`` are left alone (an imported Eurostat name is
    not put back to the shipped one). The caller commits.
    """
    existing = {
        row.code: row for row in session.execute(select(Region.code, *_columns())).all()
    }
    new, changed, unchanged = [], [], 0
    for row in rows:
        stored = existing.get(row["code"])
        if stored is None:
            new.append(row)
        elif keep_origin is not None and stored.origin == keep_origin:
            unchanged += 1
        elif any(getattr(stored, name) != row[name] for name in FIELDS):
            changed.append(row)
        else:
            unchanged += 1

    if new:
        session.execute(insert(Region), new)
    if changed:
        # Bulk UPDATE by primary key: one executemany, not one query a row.
        session.execute(update(Region), changed)
    return RegionChanges(len(new), len(changed), unchanged)


def read_regions(session: Session) -> list[dict[str, Any]]:
    """Every node of the tree as a plain dict."""
    return [
        row._asdict() for row in session.execute(select(Region.code, *_columns())).all()
    ]


def descendant_codes(session: Session, code: str) -> list[str]:
    """The codes of a region and every region below it, at any depth."""
    path = session.scalar(select(Region.path).where(Region.code == code))
    if path is None:
        return []
    # Limitation: on PostgreSQL with a non-C collation the prefix match is a
    # sequential scan of the path column (about 150,000 short strings).
    return list(
        session.scalars(select(Region.code).where(Region.path.startswith(path)))
    )


def count_regions(session: Session) -> dict[str, int]:
    """How many nodes the tree holds, by level."""
    rows = session.execute(select(Region.level, func.count()).group_by(Region.level))
    return {level: count for level, count in rows}


def _columns() -> list[Any]:
    return [getattr(Region, name) for name in FIELDS]


def region_node(session: Session, code: str) -> Region | None:
    return session.get(Region, code)


def regions_by_code(session: Session, codes: list[str]) -> dict[str, Region]:
    if not codes:
        return {}
    rows = session.scalars(select(Region).where(Region.code.in_(codes)))
    return {row.code: row for row in rows}


def child_regions(session: Session, code: str, limit: int = 400) -> list[Region]:
    """The regions one level below, largest first (municipalities can be
    thousands: the most populous come first)."""
    query = (
        select(Region)
        .where(Region.parent == code)
        .order_by(Region.population.desc().nulls_last(), Region.name)
        .limit(limit)
    )
    return list(session.scalars(query))
