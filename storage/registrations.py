"""Queries on registrations: the limits, duplicates, municipalities, decisions."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

from sqlalchemy import String, cast, func, or_, select
from sqlalchemy.orm import Session

from storage.models import Region, Registration, RegistrationAttempt, Source

# Registrations still in someone's hands: the contact's or the editors'.
OPEN_STATES = ("unconfirmed", "confirmed")


def record_attempt(
    session: Session,
    at: datetime,
    address: str,
    network: str,
    outcome: str,
    url: str | None = None,
    detail: str | None = None,
) -> None:
    """One attempt, accepted or refused. The caller commits."""
    session.add(
        RegistrationAttempt(
            at=at,
            address=address[:64],
            network=network[:64],
            url=url[:2000] if url else None,
            outcome=outcome,
            detail=detail,
        )
    )


def attempts_since(
    session: Session, since: datetime, address: str | None = None, network: str = ""
) -> int:
    """Attempts from one address, or one network, since ``since``."""
    query = select(func.count()).select_from(RegistrationAttempt)
    query = query.where(RegistrationAttempt.at >= since)
    if address is not None:
        query = query.where(RegistrationAttempt.address == address)
    else:
        query = query.where(RegistrationAttempt.network == network)
    return int(session.scalar(query) or 0)


def open_registrations_of_domain(session: Session, domain: str) -> int:
    query = select(func.count()).where(
        Registration.domain == domain, Registration.state.in_(OPEN_STATES)
    )
    return int(session.scalar(query) or 0)


def registered_as(session: Session, url: str) -> str | None:
    """The source id, or "registration", that ``url`` is already registered as.

    An address counts once with or without a trailing slash.
    """
    variants = {url, url.rstrip("/"), url.rstrip("/") + "/"}
    source_id = session.scalar(
        select(Source.id).where(
            or_(Source.url.in_(variants), Source.registry_url.in_(variants))
        )
    )
    if source_id is not None:
        return str(source_id)
    pending = session.scalar(
        select(Registration.id).where(
            Registration.source_url.in_(variants),
            Registration.state.in_(OPEN_STATES),
        )
    )
    return "registration" if pending is not None else None


def find_municipalities(session: Session, query: str, limit: int = 20) -> list[Region]:
    """Municipalities whose name, in any language, contains ``query``.

    The most populous first, so that the town a person means comes on top.
    """
    words = query.strip()
    if len(words) < 2:
        return []
    pattern = f"%{_like_escape(words)}%"
    names = cast(Region.names, String)
    # Limitation: the match ignores case for ASCII letters only (SQLite's
    # LIKE), so "äs" does not find "Äs"; the names list is searched as text.
    condition = or_(
        Region.name.ilike(pattern, escape="\\"), names.ilike(pattern, escape="\\")
    )
    if not words.isascii():
        escaped = _like_escape(_json_escape(words))
        condition = or_(condition, names.ilike(f"%{escaped}%", escape="\\"))
    rows = session.scalars(
        select(Region)
        .where(Region.level == "municipality", condition)
        .order_by(Region.population.desc().nulls_last(), Region.name)
        .limit(limit)
    )
    return list(rows)


def _like_escape(text: str) -> str:
    return re.sub(r"([\\%_])", r"\\\1", text)


def _json_escape(text: str) -> str:
    # SQLite's JSON keeps non-ASCII names as \\uXXXX escapes in the text.
    normal = unicodedata.normalize("NFC", text)
    return "".join(c if c.isascii() else f"\\u{ord(c):04x}" for c in normal)


def registered_source_ids(session: Session) -> set[str]:
    """Sources that came from registrations, which the registry must not retire."""
    rows = session.scalars(
        select(Registration.source_id).where(Registration.source_id.is_not(None))
    )
    return {str(source_id) for source_id in rows}


def new_source_id(session: Session, name: str) -> str:
    """A free source id from the municipality's name: "reg-wien", "reg-wien-2"."""
    ascii_name = (
        unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    )
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:48] or "source"
    base = f"reg-{slug}"
    taken = set(session.scalars(select(Source.id).where(Source.id.startswith(base))))
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


def registrations_for_review(session: Session, limit: int = 200) -> list[Registration]:
    """Confirmed registrations first (the editors' queue), then the rest, newest
    first within each."""
    waiting = Registration.state == "confirmed"
    query = (
        select(Registration)
        .order_by(waiting.desc(), Registration.created_at.desc(), Registration.id)
        .limit(limit)
    )
    return list(session.scalars(query))
