"""A host's request slots and pace in PostgreSQL, shared by every worker.

Each worker keeps its own politeness towards a host; these two tables make
the workers keep it together: a request holds one of the host's slots while
it is on the wire (a lease, so a dead worker's slots come free) and reserves
its start time, at least the host's gap after the previous request's,
whichever worker sent that. The database's clock decides, so the machines'
clocks need not agree. PostgreSQL only: on SQLite one process does
everything and its own gate is enough.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

_PREPARE = text(
    "INSERT INTO host_slots (host, slot) "
    "SELECT :host, generate_series(0, :slots - 1) "
    "ON CONFLICT DO NOTHING"
)
_TAKE = text(
    "UPDATE host_slots SET holder = :holder, "
    "expires_at = now() + make_interval(secs => :lease) "
    "WHERE host = :host AND slot = ("
    " SELECT slot FROM host_slots WHERE host = :host AND slot < :slots"
    " AND (holder IS NULL OR expires_at < now())"
    " ORDER BY slot LIMIT 1 FOR UPDATE SKIP LOCKED) "
    "RETURNING slot"
)
_RESERVE = text(
    "INSERT INTO host_pace (host, next_start) "
    "VALUES (:host, now() + make_interval(secs => :gap)) "
    "ON CONFLICT (host) DO UPDATE SET next_start = "
    "greatest(host_pace.next_start, now()) + make_interval(secs => :gap) "
    "RETURNING extract(epoch FROM next_start - now()) - :gap"
)
_RELEASE = text(
    "UPDATE host_slots SET holder = NULL, expires_at = NULL "
    "WHERE host = :host AND slot = :slot AND holder = :holder"
)


def prepare_host(session: Session, host: str, slots: int) -> None:
    """Make sure the host has its ``slots`` rows."""
    session.execute(_PREPARE, {"host": host, "slots": slots})


def take_host_slot(
    session: Session,
    host: str,
    slots: int,
    holder: str,
    lease_seconds: float,
    gap_seconds: float,
) -> tuple[int, float] | None:
    """Lease a free slot of the host and reserve a start time: the slot and
    the seconds to wait before starting, or None when every slot is held."""
    taken = session.execute(
        _TAKE,
        {"host": host, "slots": slots, "holder": holder, "lease": lease_seconds},
    ).scalar()
    if taken is None:
        return None
    wait = session.execute(_RESERVE, {"host": host, "gap": gap_seconds}).scalar()
    return int(taken), max(0.0, float(wait or 0.0))


def release_host_slot(session: Session, host: str, slot: int, holder: str) -> None:
    """Give back a slot, unless its lease ran out and another holds it now."""
    session.execute(_RELEASE, {"host": host, "slot": slot, "holder": holder})
