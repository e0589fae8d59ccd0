"""Queries on subscriptions: double opt-in, preferences, pausing, leaving, and
the reader's data, exported or erased."""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from storage.models import DigestSend, ItemRegionRow, Region, Subscription

FREQUENCIES = ("daily", "weekly")
PENDING, ACTIVE, PAUSED, UNSUBSCRIBED = "pending", "active", "paused", "unsubscribed"
# Confirmation e-mails one address can be sent in a day: the form must not
# be a way to flood somebody's mailbox.
# Limitation: the cap is per address only; nothing (no captcha, no limit per
# client) keeps a script from sending confirmations to many addresses.
REQUESTS_PER_DAY = 3
_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}$")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


class AddressError(ValueError):
    """Not an e-mail address the portal can write to; says what is wrong."""


@dataclass(frozen=True)
class Preferences:
    """What a subscription asks for; empty topics or languages mean any."""

    regions: tuple[str, ...]
    topics: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    frequency: str = "daily"
    locale: str = "en"

    def merged_with(self, newer: Preferences) -> Preferences:
        """The union of two wishes of one address, the newer one's e-mail
        language: one digest per address and frequency."""

        def union(old: tuple[str, ...], new: tuple[str, ...]) -> tuple[str, ...]:
            # Empty is "any", which no union narrows.
            return () if not old or not new else tuple(dict.fromkeys(old + new))

        return Preferences(
            tuple(dict.fromkeys(self.regions + newer.regions)),
            union(self.topics, newer.topics),
            union(self.languages, newer.languages),
            newer.frequency,
            newer.locale,
        )


def normalise_address(text: str) -> str:
    """The address as stored: trimmed, the domain in lower-case ASCII (IDNA).

    Refuses anything that could not be a mailbox or could smuggle a header
    (line breaks, spaces, a display name).
    """
    address = unicodedata.normalize("NFC", text.strip())
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        raise AddressError("an e-mail address has the form name@example.org")
    if not _LOCAL.match(local) or ".." in local or local.startswith("."):
        raise AddressError("the part before @ has characters an address cannot have")
    try:
        ascii_domain = domain.rstrip(".").encode("idna").decode("ascii").lower()
    except UnicodeError as error:
        raise AddressError("the part after @ is not a domain name") from error
    labels = ascii_domain.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise AddressError("the part after @ is not a domain name")
    # Limitation: the part before @ is lower-cased too, as nearly every mail
    # server treats it; a server that tells John from john gets john.
    stored = f"{local.lower()}@{ascii_domain}"
    if len(stored) > 254:
        raise AddressError("the address is longer than an address can be")
    return stored


def masked_address(email: str) -> str:
    """j…@example.org: enough for a reader to recognise their own address."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}…@{domain}"


def request_subscription(
    session: Session,
    email: str,
    wanted: Preferences,
    consent_text: str,
    now: datetime,
) -> Subscription | None:
    """A pending subscription, or None when the address asked too often today.

    The caller treats both alike towards the reader, who must not learn
    whether the address is known. The caller commits.
    """
    asked_today = session.scalar(
        select(func.count())
        .select_from(Subscription)
        .where(
            Subscription.email == email,
            Subscription.state == PENDING,
            Subscription.requested_at > now - timedelta(days=1),
        )
    )
    if (asked_today or 0) >= REQUESTS_PER_DAY:
        return None
    subscription = Subscription(
        email=email,
        nonce=secrets.token_hex(16),
        state=PENDING,
        requested_at=now,
        updated_at=now,
        consent_text=consent_text,
        failures=0,
    )
    set_preferences(subscription, wanted, now)
    session.add(subscription)
    session.flush()
    return subscription


def confirm_subscription(
    session: Session, pending: Subscription, now: datetime
) -> Subscription:
    """Record the consent; the address's subscription of the same frequency,
    if there is one, takes the new wishes and the pending row goes.

    Confirming twice changes nothing. The caller commits.
    """
    if pending.state != PENDING:
        return pending
    existing = session.scalar(
        select(Subscription).where(
            Subscription.email == pending.email,
            Subscription.frequency == pending.frequency,
            Subscription.state != PENDING,
            Subscription.id != pending.id,
        )
    )
    if existing is None:
        pending.state = ACTIVE
        pending.consent_at = now
        pending.digest_since = now
        pending.updated_at = now
        return pending

    set_preferences(
        existing, preferences_of(existing).merged_with(preferences_of(pending)), now
    )
    existing.consent_at = now
    existing.consent_text = pending.consent_text
    if existing.state == UNSUBSCRIBED or existing.pause_reason == "subscriber":
        existing.state, existing.paused_at, existing.pause_reason = ACTIVE, None, None
        existing.unsubscribed_at = None
        existing.digest_since = now
    session.delete(pending)
    session.flush()
    return existing


def preferences_of(subscription: Subscription) -> Preferences:
    return Preferences(
        tuple(subscription.regions),
        tuple(subscription.topics),
        tuple(subscription.languages),
        subscription.frequency,
        subscription.locale,
    )


def set_preferences(
    subscription: Subscription, wanted: Preferences, now: datetime
) -> None:
    subscription.regions = list(wanted.regions)
    subscription.topics = list(wanted.topics)
    subscription.languages = list(wanted.languages)
    subscription.frequency = wanted.frequency
    subscription.locale = wanted.locale
    subscription.updated_at = now


def pause_subscription(
    subscription: Subscription, now: datetime, reason: str = "subscriber"
) -> None:
    if subscription.state == ACTIVE:
        subscription.state = PAUSED
        subscription.paused_at = now
        subscription.pause_reason = reason
        subscription.updated_at = now


def resume_subscription(subscription: Subscription, now: datetime) -> None:
    """Active again; the next digest starts now, not with what the pause
    held back."""
    if subscription.state in (PAUSED, UNSUBSCRIBED):
        subscription.state = ACTIVE
        subscription.paused_at = subscription.pause_reason = None
        subscription.unsubscribed_at = None
        subscription.failures = 0
        subscription.digest_since = now
        subscription.updated_at = now


def unsubscribe(subscription: Subscription, now: datetime) -> None:
    if subscription.state != UNSUBSCRIBED:
        subscription.state = UNSUBSCRIBED
        subscription.unsubscribed_at = now
        subscription.updated_at = now


def subscription_by_id(session: Session, subscription_id: int) -> Subscription | None:
    return session.get(Subscription, subscription_id)


def subscriptions_of(session: Session, email: str) -> list[Subscription]:
    return list(
        session.scalars(
            select(Subscription)
            .where(Subscription.email == email)
            .order_by(Subscription.id)
        )
    )


def export_address_data(session: Session, email: str) -> dict[str, Any]:
    """Everything stored about an address, as the reader may download it."""
    subscriptions = subscriptions_of(session, email)
    sends = session.scalars(
        select(DigestSend)
        .where(DigestSend.subscription_id.in_([each.id for each in subscriptions]))
        .order_by(DigestSend.subscription_id, DigestSend.period)
    )
    digests: dict[int, list[dict[str, Any]]] = {}
    for send in sends:
        digests.setdefault(send.subscription_id, []).append(
            {
                "period": send.period,
                "state": send.state,
                "finished_at": _moment(send.finished_at),
                "stories": send.stories,
            }
        )
    return {
        "email": email,
        "subscriptions": [
            {
                "id": each.id,
                "state": each.state,
                "frequency": each.frequency,
                "email_language": each.locale,
                "regions": each.regions,
                "topics": each.topics,
                "languages": each.languages,
                "requested_at": _moment(each.requested_at),
                "consent_at": _moment(each.consent_at),
                "consent_text": each.consent_text,
                "paused_at": _moment(each.paused_at),
                "pause_reason": each.pause_reason,
                "unsubscribed_at": _moment(each.unsubscribed_at),
                "last_digest_until": _moment(each.digest_since),
                "delivery_failures": each.failures,
                "digests": digests.get(each.id, []),
            }
            for each in subscriptions
        ],
    }


def erase_address_data(session: Session, email: str) -> int:
    """Delete every subscription of an address and its send log; returns how
    many subscriptions went. The caller commits."""
    ids = [each.id for each in subscriptions_of(session, email)]
    if ids:
        session.execute(delete(DigestSend).where(DigestSend.subscription_id.in_(ids)))
        session.execute(delete(Subscription).where(Subscription.id.in_(ids)))
    return len(ids)


def forget_unconfirmed(session: Session, before: datetime) -> int:
    """Delete the requests whose confirmation link has expired unused."""
    result = session.execute(
        delete(Subscription).where(
            Subscription.state == PENDING, Subscription.requested_at < before
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True, slots=True)
class Subscriber:
    """What a digest run needs of one subscription, read in bulk."""

    id: int
    email: str
    nonce: str
    locale: str
    regions: tuple[str, ...]
    topics: tuple[str, ...]
    languages: tuple[str, ...]
    since: datetime | None


def active_subscribers(
    session: Session, frequency: str, ids: Sequence[int] | None = None
) -> list[Subscriber]:
    """The active subscriptions of a frequency (or those of ``ids``), by id."""
    query = select(
        Subscription.id,
        Subscription.email,
        Subscription.nonce,
        Subscription.locale,
        Subscription.regions,
        Subscription.topics,
        Subscription.languages,
        Subscription.digest_since,
    ).where(Subscription.state == ACTIVE, Subscription.frequency == frequency)
    if ids is not None:
        query = query.where(Subscription.id.in_(list(ids)))
    return [
        Subscriber(
            row[0],
            row[1],
            row[2],
            row[3],
            tuple(row[4]),
            tuple(row[5]),
            tuple(row[6]),
            row[7],
        )
        for row in session.execute(query.order_by(Subscription.id))
    ]


def _moment(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def find_regions(
    session: Session, wanted: Sequence[str], by_name: bool = False
) -> dict[str, str]:
    """The regions among ``wanted`` that exist, code to name, in their order.

    A code counts when the region tree has it or an item is filed under it
    (the tree may not be imported yet). With ``by_name``, a name matches too,
    whatever its case.
    """
    codes = [code.strip() for code in wanted if code.strip()]
    if not codes:
        return {}
    variants = {code for code in codes} | {code.upper() for code in codes}
    query = select(Region.code, Region.name).where(Region.code.in_(variants))
    named: dict[str, str] = {code: name for code, name in session.execute(query)}
    filed = set(
        session.scalars(
            select(ItemRegionRow.code)
            .where(ItemRegionRow.code.in_(variants))
            .distinct()
        )
    )
    if by_name:
        # Limitation: SQLite lower-cases ASCII letters only, so a name with a
        # capital beyond ASCII (Île-de-France) matches only as written.
        lowered = [code.casefold() for code in codes]
        for code, name in session.execute(
            select(Region.code, Region.name)
            .where(func.lower(Region.name).in_(lowered))
            .order_by(Region.population.desc().nulls_last())
            .limit(1)
        ):
            named.setdefault(code, name)
            codes.append(code)
    found: dict[str, str] = {}
    for code in codes:
        for variant in (code, code.upper()):
            if variant in named or variant in filed:
                found.setdefault(variant, named.get(variant, variant))
                break
    return found
