"""Queries on sources: syncing the registry, listing, finding due ones."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from storage.models import Item, Source
from storage.registrations import registered_source_ids

# The fields a registry entry sets; everything else on a source is the
# crawler's own bookkeeping and survives a sync.
REGISTRY_FIELDS = (
    "name",
    "kind",
    "url",
    "website",
    "publisher",
    "country",
    "region",
    "municipality",
    "languages",
    "poll_interval",
    "selector",
)


@dataclass
class SyncReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def sync_sources(
    session: Session, entries: Sequence[Mapping[str, Any]], now: datetime
) -> SyncReport:
    """Make the active sources match ``entries`` (each a mapping with an id).

    New ids are added and due at once; changed ones are updated; ids no longer
    listed are retired, never deleted, so their items stay published; sources
    that came from registrations are left alone. A retired source listed
    again comes back to life. The caller commits.
    """
    report = SyncReport()
    known = {source.id: source for source in session.scalars(select(Source))}
    # Sources that municipalities registered live outside the registry file.
    registered = registered_source_ids(session)
    listed = set()

    for entry in entries:
        source_id = entry["id"]
        listed.add(source_id)
        values = {name: entry.get(name) for name in REGISTRY_FIELDS}
        values["languages"] = list(values["languages"] or [])
        source = known.get(source_id)

        if source is None:
            session.add(
                Source(
                    id=source_id,
                    **values,
                    registry_url=values["url"],
                    state="active",
                    created_at=now,
                    updated_at=now,
                    next_fetch_at=now,
                    consecutive_failures=0,
                )
            )
            report.added.append(source_id)
            continue

        if values["url"] == source.registry_url:
            # The crawler may have moved the source after permanent redirects;
            # the registry's unchanged address does not move it back.
            values["url"] = source.url
        changed = {k: v for k, v in values.items() if getattr(source, k) != v}
        # A source gone (HTTP 410) stays so until the registry gives it a new
        # address; one that had left the registry comes back with it.
        if source.state == "retired" or (source.state == "gone" and "url" in changed):
            source.state = "active"
            source.state_reason = None
            source.retired_at = None
            source.next_fetch_at = now
            source.consecutive_failures = 0
            changed["state"] = "active"
        if not changed:
            report.unchanged.append(source_id)
            continue
        if "url" in changed:
            # Validators of the old address mean nothing for the new one.
            source.registry_url = values["url"]
            source.etag = None
            source.last_modified = None
            source.next_fetch_at = now
        for name, value in values.items():
            setattr(source, name, value)
        source.updated_at = now
        report.updated.append(source_id)

    for source_id, source in known.items():
        if source_id in listed or source_id in registered:
            continue
        if source.state in ("active", "gone"):
            source.state = "retired"
            source.retired_at = now
            source.updated_at = now
            report.retired.append(source_id)
    return report


def due_sources(session: Session, now: datetime, limit: int = 1000) -> list[Source]:
    """Active, unpaused sources whose next fetch time has come, the
    longest-waiting first."""
    query = (
        _due(now)
        .order_by(Source.next_fetch_at.asc().nulls_first(), Source.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def due_source(session: Session, source_id: str, now: datetime) -> Source | None:
    """The source ``source_id`` if it is due now, else None."""
    return session.scalar(_due(now).where(Source.id == source_id))


def _due(now: datetime) -> Select[Any]:
    return (
        select(Source)
        .where(Source.state == "active", Source.paused_at.is_(None))
        .where((Source.next_fetch_at.is_(None)) | (Source.next_fetch_at <= now))
    )


@dataclass(frozen=True)
class SourceRow:
    source: Source
    item_count: int


def list_sources(session: Session, include_retired: bool = True) -> list[SourceRow]:
    """Every source with its number of stored items, ordered by id."""
    counts = (
        select(Item.source_id, func.count(Item.id).label("n"))
        .group_by(Item.source_id)
        .subquery()
    )
    query = (
        select(Source, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.source_id == Source.id)
        .order_by(Source.id)
    )
    if not include_retired:
        query = query.where(Source.state == "active")
    return [SourceRow(row[0], int(row[1])) for row in session.execute(query)]
