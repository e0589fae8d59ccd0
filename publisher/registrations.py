"""Registering a municipality's source: the checks, the limits, the proof.

Nothing is stored until every check passed: the honeypot, the limits per
address, network and domain, the form's fields, an address not registered
before, and one fetch through the crawler that found a feed or a
press-release listing. Every refusal is logged and kept as an attempt.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from functools import lru_cache
from urllib.parse import urlsplit

from itsdangerous import BadSignature, URLSafeSerializer
from publicsuffixlist import PublicSuffixList
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from publisher.i18n import N_, Message
from publisher.source_preview import PreviewRefused, PreviewSource, SourcePreview
from storage.models import Region, Registration
from storage.registrations import (
    attempts_since,
    open_registrations_of_domain,
    record_attempt,
    registered_as,
)

logger = logging.getLogger(__name__)

# Hands one e-mail to the mail server; raises MailNotSent when it cannot.
MailSender = Callable[[EmailMessage], None]


class MailNotSent(Exception):
    """The sender handed to the app could not deliver a message."""


EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
LANGUAGE = re.compile(r"^[a-z]{2,3}$")
MAX_LANGUAGES = 10


@dataclass(frozen=True)
class RegistrationPolicy:
    """The limits and the secret that registrations use, from the settings."""

    secret_key: str
    link_hours: int = 72
    per_address_hour: int = 9
    per_network_hour: int = 30
    per_domain: int = 3


@dataclass(frozen=True)
class RegistrationForm:
    """What a registrant sends, from the page's form or the JSON API."""

    website: str
    contact_name: str
    contact_email: str
    region_code: str = ""
    municipality_name: str = ""
    source_url: str = ""
    languages: list[str] = field(default_factory=list)
    # A field people never see; filled in, it was a program.
    honeypot: str = ""


class RegistrationRefused(Exception):
    """Nothing was stored; ``message`` tells the registrant why."""

    def __init__(
        self, outcome: str, message: Message, status: int, detail: str = ""
    ) -> None:
        super().__init__(str(message))
        self.outcome = outcome
        self.message = message
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class Accepted:
    registration_id: int
    preview: SourcePreview
    status_token: str


@dataclass(frozen=True)
class Registering:
    """What a registration needs of the rest of the portal."""

    sessions: sessionmaker[Session]
    policy: RegistrationPolicy
    preview: PreviewSource
    now: Callable[[], datetime]


async def register(
    registering: Registering, form: RegistrationForm, address: str, locale: str
) -> tuple[Accepted, Registration]:
    """Check ``form`` and store it as an unconfirmed registration.

    Raises ``RegistrationRefused`` after logging and recording the refusal.
    """
    network = network_of(address)
    try:
        return await _register(registering, form, address, network, locale)
    except RegistrationRefused as refusal:
        url = form.source_url or form.website
        logger.warning(
            "Registration refused",
            extra={
                "address": address,
                "url": url,
                "reason": refusal.outcome,
                "error": refusal.detail or str(refusal.message),
            },
        )
        await run_in_threadpool(
            _record, registering, address, network, refusal.outcome, url, refusal.detail
        )
        raise


async def _register(
    registering: Registering,
    form: RegistrationForm,
    address: str,
    network: str,
    locale: str,
) -> tuple[Accepted, Registration]:
    if form.honeypot.strip():
        raise RegistrationRefused(
            "honeypot", Message(N_("The form could not be accepted.")), 400
        )
    await run_in_threadpool(_check_rates, registering, address, network)
    website, given, region = await run_in_threadpool(_check_form, registering, form)

    domain = registrable_domain(urlsplit(website).hostname or "")
    await run_in_threadpool(_check_new, registering, domain, given)
    try:
        preview = await registering.preview(given, website)
    except PreviewRefused as problem:
        raise RegistrationRefused(
            problem.kind, problem.message, 422, problem.detail
        ) from problem
    if preview.url != given:
        await run_in_threadpool(_check_new, registering, domain, preview.url)

    registration = await run_in_threadpool(
        _store, registering, form, region, website, given, domain, preview,
        address, network, locale,
    )  # fmt: skip
    token = status_token(registering.policy.secret_key, registration.id)
    return Accepted(registration.id, preview, token), registration


def _check_rates(registering: Registering, address: str, network: str) -> None:
    policy = registering.policy
    since = registering.now() - timedelta(hours=1)
    with registering.sessions() as session:
        from_address = attempts_since(session, since, address=address)
        from_network = attempts_since(session, since, network=network)
    if (
        from_address >= policy.per_address_hour
        or from_network >= policy.per_network_hour
    ):
        raise RegistrationRefused(
            "rate_limit",
            Message(
                N_("Too many registrations from your address; try again in an hour.")
            ),
            429,
            f"{from_address} from the address, {from_network} from its network",
        )


def _check_form(
    registering: Registering, form: RegistrationForm
) -> tuple[str, str, Region | None]:
    website = _web_address(form.website)
    given = _web_address(form.source_url) if form.source_url.strip() else website
    if not form.contact_name.strip():
        raise _invalid(N_("Give the name of a contact person."))
    if not EMAIL.match(form.contact_email.strip()):
        raise _invalid(N_("Give a valid e-mail address."))
    if (
        not form.languages
        or len(form.languages) > MAX_LANGUAGES
        or not all(LANGUAGE.match(code) for code in form.languages)
    ):
        raise _invalid(N_("Choose the languages your site publishes in."))

    region = None
    if form.region_code:
        with registering.sessions() as session:
            region = session.get(Region, form.region_code)
            if region is None or region.level != "municipality":
                raise _invalid(N_("Choose your municipality from the list."))
            session.expunge(region)
    elif not form.municipality_name.strip():
        raise _invalid(N_("Choose your municipality, or name it if it is missing."))
    return website, given, region


def _web_address(text: str) -> str:
    url = text.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2000:
        raise RegistrationRefused(
            "bad_url",
            Message(N_("%(url)s is not an http:// or https:// address."), {"url": url}),
            422,
        )
    return url


def _invalid(text: str) -> RegistrationRefused:
    return RegistrationRefused("invalid", Message(text), 422)


def _check_new(registering: Registering, domain: str, url: str) -> None:
    with registering.sessions() as session:
        if registered_as(session, url) is not None:
            raise RegistrationRefused(
                "already_registered",
                Message(N_("%(url)s is registered already."), {"url": url}),
                409,
            )
        waiting = open_registrations_of_domain(session, domain)
    if waiting >= registering.policy.per_domain:
        raise RegistrationRefused(
            "domain_limit",
            Message(
                N_(
                    "Registrations of %(domain)s are waiting already; "
                    "wait for their decision."
                ),
                {"domain": domain},
            ),
            429,
        )


def _store(
    registering: Registering,
    form: RegistrationForm,
    region: Region | None,
    website: str,
    given: str,
    domain: str,
    preview: SourcePreview,
    address: str,
    network: str,
    locale: str,
) -> Registration:
    now = registering.now()
    registration = Registration(
        state="unconfirmed",
        region_code=region.code if region else None,
        municipality_name=(region.name if region else form.municipality_name.strip())[
            :300
        ],
        country=region.country if region else None,
        website=website,
        given_url=given,
        source_url=preview.url,
        source_kind=preview.kind,
        source_title=preview.title[:500],
        contact_name=form.contact_name.strip()[:200],
        contact_email=form.contact_email.strip()[:320],
        languages=sorted(set(form.languages)),
        locale=locale,
        domain=domain,
        verified=False,
        address=address[:64],
        created_at=now,
    )
    with registering.sessions() as session:
        session.add(registration)
        record_attempt(session, now, address, network, "accepted", preview.url)
        session.commit()
        session.refresh(registration)
        session.expunge(registration)
    logger.info(
        "Registration received",
        extra={"registration_id": registration.id, "url": preview.url},
    )
    return registration


def _record(
    registering: Registering,
    address: str,
    network: str,
    outcome: str,
    url: str,
    detail: str,
) -> None:
    with registering.sessions() as session:
        record_attempt(
            session, registering.now(), address, network, outcome, url, detail or None
        )
        session.commit()


def withdraw(registering: Registering, registration_id: int, reason: str) -> None:
    """Remove a registration whose confirmation e-mail could not be sent, so
    that registering again is not refused as a duplicate."""
    with registering.sessions() as session:
        registration = session.get(Registration, registration_id)
        if registration is None:
            return
        address = registration.address
        url = registration.source_url
        session.delete(registration)
        record_attempt(
            session,
            registering.now(),
            address,
            network_of(address),
            "mail_failed",
            url,
            reason,
        )
        session.commit()


def network_of(address: str) -> str:
    """The /24 of an IPv4 address or the /48 of an IPv6 one; anything else
    (a test client, a Unix socket) is its own network."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    prefix = 24 if parsed.version == 4 else 48
    return str(ipaddress.ip_network(f"{parsed}/{prefix}", strict=False))


@lru_cache(maxsize=1)
def _suffixes() -> PublicSuffixList:
    # The list shipped inside the package: no download, ever.
    return PublicSuffixList()


def registrable_domain(host: str) -> str:
    """The part of ``host`` one can register (www.wien.gv.at: wien.gv.at).

    An IP address, or a host that is itself a public suffix, is its own
    domain.
    """
    name = host.strip().lower().rstrip(".")
    try:
        ipaddress.ip_address(name.strip("[]"))
        return name
    except ValueError:
        pass
    return _suffixes().privatesuffix(name) or name


def is_verified_contact(email: str, website: str) -> bool:
    """Whether the contact's address is on the website's registrable domain."""
    # Limitation: this proves that the contact receives mail at the website's
    # domain, not that the website is the municipality's; editors check that.
    host = urlsplit(website).hostname or ""
    email_domain = email.rpartition("@")[2].strip().lower().rstrip(".")
    if not host or not email_domain:
        return False
    try:
        ipaddress.ip_address(host.strip("[]"))
        return False
    except ValueError:
        pass
    # A host that is itself a public suffix has no registrable domain.
    site = _suffixes().privatesuffix(host.lower().rstrip("."))
    return site is not None and registrable_domain(email_domain) == site


def confirm_token(secret_key: str, registration_id: int, now: datetime) -> str:
    """The signed part of the e-mailed confirmation link, stamped with ``now``."""
    payload = [registration_id, int(now.timestamp())]
    return _serializer(secret_key, "registration-confirm").dumps(payload)


def status_token(secret_key: str, registration_id: int) -> str:
    """The signed part of the registrant's status page link; it does not expire."""
    return _serializer(secret_key, "registration-status").dumps(registration_id)


class LinkExpired(Exception):
    """A genuine confirmation link older than the policy allows."""


def read_confirm_token(
    secret_key: str, token: str, max_age: timedelta, now: datetime
) -> int | None:
    """The registration id of a valid link; None for a forged one.

    Raises ``LinkExpired`` for a genuine link that is too old. The time is the
    portal's clock, not the signer's, so that the age is tested like the rest.
    """
    try:
        registration_id, issued = _serializer(secret_key, "registration-confirm").loads(
            token
        )
    except (BadSignature, ValueError, TypeError):
        return None
    if now.timestamp() - float(issued) > max_age.total_seconds():
        raise LinkExpired(f"link of registration {registration_id} has expired")
    return int(registration_id)


def read_status_token(secret_key: str, token: str) -> int | None:
    try:
        return int(_serializer(secret_key, "registration-status").loads(token))
    except (BadSignature, ValueError, TypeError):
        return None


def _serializer(secret_key: str, salt: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key, salt=salt)
