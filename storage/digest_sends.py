"""The digest send log: claiming a subscription's digest for a period before
sending it, and marking it after.

The unique (subscription, period) row is what makes a digest go out once:
whichever run inserts it first holds it; a run that died leaves its claim to
expire, and the next run takes the claim over and sends what is unsent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.models import DigestSend, Subscription
from storage.subscriptions import ACTIVE

CLAIMED, SENT, EMPTY, FAILED = "claimed", "sent", "empty", "failed"


def claim_digests(
    session: Session,
    subscription_ids: Sequence[int],
    period: str,
    token: str,
    now: datetime,
    lease: timedelta,
) -> list[int]:
    """Claim the period's digest of each subscription for the run ``token``.

    Returns the ids the run now holds: those nobody had claimed, and those
    whose claim by a run that died has expired. Others (sent, or held by a
    live run) are left alone. Ids are taken in ascending order so that two
    workers claiming overlapping batches on PostgreSQL wait for each other
    instead of deadlocking. The caller commits at once.
    """
    ids = sorted(set(subscription_ids))
    if not ids:
        return []
    rows = [
        {
            "subscription_id": each,
            "period": period,
            "state": CLAIMED,
            "claim_token": token,
            "claimed_at": now,
            "lease_until": now + lease,
            "attempts": 1,
            "stories": 0,
        }
        for each in ids
    ]
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert(DigestSend).on_conflict_do_nothing(
            index_elements=["subscription_id", "period"]
        ),
        rows,
    )

    # A claim whose lease ran out belongs to a run that died (or is far
    # slower than the lease allows): the row lock and the lease condition
    # let exactly one of several runs take it over.
    session.execute(
        update(DigestSend)
        .where(
            DigestSend.subscription_id.in_(ids),
            DigestSend.period == period,
            DigestSend.state == CLAIMED,
            DigestSend.claim_token != token,
            DigestSend.lease_until < now,
        )
        .values(
            claim_token=token,
            claimed_at=now,
            lease_until=now + lease,
            attempts=DigestSend.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    return list(
        session.scalars(
            select(DigestSend.subscription_id)
            .where(
                DigestSend.subscription_id.in_(ids),
                DigestSend.period == period,
                DigestSend.claim_token == token,
                DigestSend.state == CLAIMED,
            )
            .order_by(DigestSend.subscription_id)
        )
    )


# Built once: a run executes them for every digest, and SQLAlchemy then reuses
# their compiled form instead of building the statement each time.
_FINISH = (
    update(DigestSend)
    .where(
        DigestSend.subscription_id == bindparam("b_subscription"),
        DigestSend.period == bindparam("b_period"),
        DigestSend.claim_token == bindparam("b_token"),
        DigestSend.state == CLAIMED,
    )
    .values(
        state=bindparam("b_state"),
        finished_at=bindparam("b_now"),
        stories=bindparam("b_stories"),
        message_id=bindparam("b_message_id"),
        error=bindparam("b_error"),
    )
)
_ADVANCE = (
    update(Subscription)
    .where(Subscription.id == bindparam("b_subscription"))
    .values(digest_since=bindparam("b_until"), failures=0, last_failure=None)
)


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one claimed digest ended."""

    subscription_id: int
    state: str
    stories: int = 0
    message_id: str | None = None
    error: str | None = None


def finish_digests(
    session: Session,
    outcomes: Sequence[Outcome],
    period: str,
    token: str,
    now: datetime,
    until: datetime,
) -> int:
    """Mark held claims sent, empty or failed, and start the next digest of
    each sent or empty one at ``until`` (a delivery also clears the
    failures). Returns how many claims the run still held: fewer means a
    lease ran out and another run took a claim over. The caller commits."""
    if not outcomes:
        return 0
    connection = session.connection()
    result = connection.execute(
        _FINISH,
        [
            {
                "b_subscription": each.subscription_id,
                "b_period": period,
                "b_token": token,
                "b_state": each.state,
                "b_now": now,
                "b_stories": each.stories,
                "b_message_id": each.message_id,
                "b_error": each.error,
            }
            for each in outcomes
        ],
    )
    advanced = [
        {"b_subscription": each.subscription_id, "b_until": until}
        for each in outcomes
        if each.state in (SENT, EMPTY)
    ]
    if advanced:
        connection.execute(_ADVANCE, advanced)
    return int(result.rowcount or 0)


def record_refusal(
    session: Session,
    subscription_id: int,
    error: str,
    now: datetime,
    failures_to_pause: int,
) -> bool:
    """Count a permanent refusal; True when it paused the subscription."""
    subscription = session.get(Subscription, subscription_id)
    if subscription is None:
        return False
    subscription.failures = (subscription.failures or 0) + 1
    subscription.last_failure = error[:2000]
    subscription.updated_at = now
    if subscription.failures >= failures_to_pause and subscription.state == "active":
        subscription.state = "paused"
        subscription.paused_at = now
        subscription.pause_reason = "delivery"
        return True
    return False


def release_claims(
    session: Session, subscription_ids: Sequence[int], period: str, token: str
) -> None:
    """Give back claims the run could not send, for the next run to take."""
    if subscription_ids:
        session.execute(
            delete(DigestSend).where(
                DigestSend.subscription_id.in_(list(subscription_ids)),
                DigestSend.period == period,
                DigestSend.claim_token == token,
                DigestSend.state == CLAIMED,
            )
        )


def finished_subscriptions(session: Session, period: str) -> set[int]:
    """Subscriptions whose digest of the period is sent, empty or failed."""
    return set(
        session.scalars(
            select(DigestSend.subscription_id).where(
                DigestSend.period == period, DigestSend.state != CLAIMED
            )
        )
    )


def unsent_digests(
    session: Session, frequency: str, period: str, parts: int = 1
) -> dict[int, int]:
    """Active subscriptions of a frequency whose digest of the period is not
    sent, found empty or refused yet, counted by part (subscription id modulo
    ``parts``) when a period's work is split; parts with none are left out."""
    finished = (
        select(DigestSend.id)
        .where(
            DigestSend.subscription_id == Subscription.id,
            DigestSend.period == period,
            DigestSend.state != CLAIMED,
        )
        .exists()
    )
    part = (Subscription.id % parts).label("part")
    query = (
        select(part, func.count(Subscription.id))
        .where(
            Subscription.state == ACTIVE,
            Subscription.frequency == frequency,
            ~finished,
        )
        .group_by(part)
    )
    return {int(key): count for key, count in session.execute(query)}
