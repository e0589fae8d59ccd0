"""Queries on WebSub subscriptions: asking, verifying, renewing, pushes."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.fetches import FetchRecord, log_row
from storage.models import Source, WebSubSubscription

# A lease is renewed when this share of it has passed, so that a hub that is
# slow to verify the renewal still does so before the lease runs out.
RENEW_AT_SHARE = 0.8


def find_subscription(session: Session, source_id: str) -> WebSubSubscription | None:
    return session.scalars(
        select(WebSubSubscription).where(WebSubSubscription.source_id == source_id)
    ).first()


def request_subscription(
    session: Session,
    source_id: str,
    hub_url: str,
    topic_url: str,
    lease_seconds: int,
    now: datetime,
) -> WebSubSubscription:
    """Record that the hub is being asked for a subscription. Caller commits.

    A renewal at the same hub for the same topic keeps the secret: the hub
    signs with the old one until it has verified the renewal. Anything else
    starts afresh with a new secret.
    """
    subscription = find_subscription(session, source_id)
    if subscription is None:
        subscription = WebSubSubscription(source_id=source_id, pushes=0)
        session.add(subscription)

    renewal = (
        subscription.state in ("pending", "active")
        and subscription.hub_url == hub_url
        and subscription.topic_url == topic_url
    )
    if not renewal:
        subscription.hub_url = hub_url
        subscription.topic_url = topic_url
        # WebSub 5.1: the secret must be under 200 bytes.
        subscription.secret = secrets.token_hex(32)
        subscription.state = "pending"
        subscription.verified_at = None
        subscription.lease_expires_at = None
        subscription.renew_at = None
    subscription.lease_seconds = lease_seconds
    subscription.requested_at = now
    subscription.last_error = None
    return subscription


def is_awaiting_verification(subscription: WebSubSubscription) -> bool:
    """Whether a request was sent that the hub has not verified yet."""
    if subscription.state not in ("pending", "active"):
        return False
    verified = subscription.verified_at
    return verified is None or subscription.requested_at > verified


def is_active(subscription: WebSubSubscription, now: datetime) -> bool:
    """Verified, and the lease has not run out."""
    expires = subscription.lease_expires_at
    return subscription.state == "active" and expires is not None and expires > now


def verify_subscription(
    subscription: WebSubSubscription, lease_seconds: int, now: datetime
) -> None:
    """The hub verified our intent and granted ``lease_seconds``. Caller commits."""
    lease = timedelta(seconds=max(lease_seconds, 0))
    subscription.state = "active"
    subscription.lease_seconds = int(lease.total_seconds())
    subscription.verified_at = now
    subscription.lease_expires_at = now + lease
    subscription.renew_at = now + lease * RENEW_AT_SHARE
    subscription.last_error = None


def deny_subscription(subscription: WebSubSubscription, reason: str) -> None:
    """The hub refused the subscription; WebSub 5.2 says not to count on it."""
    subscription.state = "denied"
    subscription.renew_at = None
    subscription.last_error = reason or "the hub denied the subscription"


def end_subscription(subscription: WebSubSubscription, reason: str) -> None:
    """Stop renewing; the callback answers the hub's pushes with 410 Gone."""
    subscription.state = "expired"
    subscription.renew_at = None
    subscription.last_error = reason


def record_request_failure(subscription: WebSubSubscription, error: str) -> None:
    subscription.last_error = error


def subscriptions_needing_renewal(
    session: Session, now: datetime, asked_before: datetime
) -> list[WebSubSubscription]:
    """Active subscriptions of active sources whose renewal time has come.

    Those asked again after ``asked_before`` are left out: the hub may still
    be verifying that renewal.
    """
    query = (
        select(WebSubSubscription)
        .join(Source, Source.id == WebSubSubscription.source_id)
        .where(Source.state == "active")
        .where(WebSubSubscription.state == "active")
        .where(WebSubSubscription.renew_at <= now)
        .where(WebSubSubscription.requested_at <= asked_before)
        .order_by(WebSubSubscription.renew_at)
    )
    return list(session.scalars(query))


def record_push(
    session: Session,
    subscription: WebSubSubscription,
    record: FetchRecord,
    next_fetch_at: datetime | None,
) -> None:
    """Log a push like a fetch and count it; poll no sooner than
    ``next_fetch_at``. Caller commits.

    The source's own fetch health is left alone: a push says nothing of
    whether its feed can be fetched.
    """
    session.add(log_row(record))
    subscription.pushes += 1
    subscription.last_push_at = record.started_at

    source = session.get(Source, record.source_id)
    if source is None or next_fetch_at is None:
        return
    if source.next_fetch_at is None or source.next_fetch_at < next_fetch_at:
        source.next_fetch_at = next_fetch_at
