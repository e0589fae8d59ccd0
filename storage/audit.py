"""The audit log: every editorial action, who took it, before and after."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from storage.models import AuditEntry, Editor


@dataclass(frozen=True)
class Actor:
    """Who acts: an editor's account, or an operator at the command line."""

    name: str
    editor_id: int | None = None

    @classmethod
    def of(cls, editor: Editor) -> Actor:
        return cls(editor.email, editor.id)


def record_action(
    session: Session,
    actor: Actor,
    action: str,
    subject: tuple[str, str | int],
    now: datetime,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    note: str | None = None,
) -> AuditEntry:
    """Adds one entry in the caller's transaction, so that the action and its
    record are stored together or not at all."""
    subject_type, subject_id = subject
    entry = AuditEntry(
        at=now,
        editor_id=actor.editor_id,
        actor=actor.name,
        action=action,
        subject_type=subject_type,
        subject_id=str(subject_id),
        before=_jsonable(before),
        after=_jsonable(after),
        note=note,
    )
    session.add(entry)
    return entry


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    action: str | None = None
    subject_type: str | None = None
    subject_id: str | None = None


def audit_entries(
    session: Session,
    filters: AuditFilter,
    limit: int = 100,
    before: tuple[datetime, int] | None = None,
) -> list[AuditEntry]:
    """Newest first; ``before`` is the (time, id) of the last entry shown."""
    query = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    if filters.actor:
        query = query.where(AuditEntry.actor == filters.actor)
    if filters.action:
        query = query.where(AuditEntry.action == filters.action)
    if filters.subject_type:
        query = query.where(AuditEntry.subject_type == filters.subject_type)
    if filters.subject_id:
        query = query.where(AuditEntry.subject_id == filters.subject_id)
    if before is not None:
        query = query.where(tuple_(AuditEntry.at, AuditEntry.id) < before)
    return list(session.scalars(query.limit(limit)))


def _jsonable(values: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    return {
        key: value.isoformat() if isinstance(value, datetime) else value
        for key, value in values.items()
    }
