"""What every request handler of the portal needs, set once on the app."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session, sessionmaker


def N_(message: str) -> str:  # noqa: N802 (the name Babel extracts)
    """Marks a message for the catalogues; it is translated where it is shown."""
    return message


@dataclass(frozen=True)
class PortalConfig:
    """The settings the portal uses, handed in by the conductor."""

    base_url: str
    site_title: str = N_("European municipalities news")
    page_size: int = 30
    feed_size: int = 50
    # Largest WebSub push body read; a larger one is refused with 413.
    max_push_bytes: int = 5_000_000

    def absolute(self, path: str) -> str:
        return self.base_url.rstrip("/") + path


@dataclass(frozen=True)
class PortalContext:
    config: PortalConfig
    sessions: sessionmaker[Session]
    templates: Jinja2Templates


def portal(request: Request) -> PortalContext:
    context: PortalContext = request.app.state.portal
    return context
