"""What every request handler of the portal needs, set once on the app."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from fastapi import Request
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session, sessionmaker

from publisher.auth import LoginPolicy, Passwords
from publisher.i18n import N_
from publisher.registrations import RegistrationPolicy
from storage.curation import RegionResolver


@dataclass(frozen=True)
class PortalConfig:
    """The settings the portal uses, handed in by the conductor."""

    base_url: str
    site_title: str = N_("European municipalities news")
    page_size: int = 30
    feed_size: int = 50
    # Largest WebSub push body read; a larger one is refused with 413.
    max_push_bytes: int = 5_000_000
    # Editors' logins: wrong passwords in a row that lock an account, for
    # how long, and how long a session lasts.
    login_failures_to_lock: int = 10
    login_lock_minutes: int = 15
    editor_session_hours: int = 12
    # Cache-Control max-age of feeds and of pages and API answers, and how
    # many rendered answers each process keeps by their ETag.
    feed_max_age: int = 300
    page_max_age: int = 60
    response_cache_entries: int = 256
    # Sender of the portal's e-mails, and the registrations' secret and limits.
    mail_from: str = "portal@localhost"
    registration: RegistrationPolicy = field(
        default_factory=lambda: RegistrationPolicy("")
    )
    # Each topic's slug and its labels by language, from the taxonomy.
    topic_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # The languages items may be in (ISO 639-1), offered as filters.
    news_languages: tuple[str, ...] = ()

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")

    def login_policy(self) -> LoginPolicy:
        return LoginPolicy(
            failures_to_lock=self.login_failures_to_lock,
            lock=timedelta(minutes=self.login_lock_minutes),
            session_length=timedelta(hours=self.editor_session_hours),
        )

    def absolute(self, path: str) -> str:
        return self.base_url.rstrip("/") + path


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class PortalContext:
    config: PortalConfig
    sessions: sessionmaker[Session]
    templates: Jinja2Templates
    now: Callable[[], datetime] = _utc_now
    passwords: Passwords = field(default_factory=Passwords)
    # Checks editors' region codes against the region tree; None: no tree,
    # and editors cannot correct regions.
    regions: RegionResolver | None = None


def portal(request: Request) -> PortalContext:
    context: PortalContext = request.app.state.portal
    return context
