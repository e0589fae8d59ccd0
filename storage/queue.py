"""What the workers' job queue holds and the locks that order their writes.

The queue is procrastinate's (see ``aggregator/worker.py``), in tables of
the same PostgreSQL database; these queries read it for the operators'
metrics without going through procrastinate.
"""

from __future__ import annotations

import zlib

from sqlalchemy import text
from sqlalchemy.orm import Session

# The advisory lock that placers and classifiers of items take turns with.
ITEMS_LOCK = "items-processing"
# The states of a job that still has work to do.
_WAITING = "('todo', 'doing')"


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def hold_lock(session: Session, name: str) -> None:
    """Wait until no other transaction holds the lock ``name``, then hold it
    until this transaction ends.

    A PostgreSQL advisory lock, for work that must not run twice at once
    across processes and machines; SQLite lets one writer in at a time
    anyway, so it needs none.
    """
    if not is_postgresql(session):
        return
    key = zlib.crc32(name.encode("utf-8"))
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def queue_depth(session: Session) -> dict[tuple[str, str], int]:
    """Jobs waiting ('todo') and running ('doing') by (queue, status)."""
    if not is_postgresql(session):
        return {}
    rows = session.execute(
        text(
            "SELECT queue_name, status::text, count(*) FROM procrastinate_jobs "
            f"WHERE status IN {_WAITING} GROUP BY queue_name, status"
        )
    )
    return {(str(queue), str(status)): int(str(n)) for queue, status, n in rows}


def queued_sources(session: Session, task_name: str) -> set[str]:
    """Sources with a job of ``task_name`` waiting or running: its queueing lock."""
    rows = session.execute(
        text(
            "SELECT queueing_lock FROM procrastinate_jobs WHERE task_name = :task "
            f"AND status IN {_WAITING} AND queueing_lock IS NOT NULL"
        ),
        {"task": task_name},
    )
    return {str(lock) for (lock,) in rows}
