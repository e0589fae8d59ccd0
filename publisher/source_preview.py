"""What a registration's check of an address found, as plain values.

The conductor fetches the address through its crawler and hands the web app
a ``PreviewSource`` callable when it builds it; the web app never imports the
crawler.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from publisher.i18n import N_, Message


@dataclass(frozen=True)
class PreviewItem:
    title: str
    link: str
    published: datetime | None


@dataclass(frozen=True)
class SourcePreview:
    """A feed or press-release listing found at (or from) an address."""

    url: str
    kind: str  # feed or page
    title: str
    language: str | None
    items: list[PreviewItem] = field(default_factory=list)


# Why an address cannot be a source, by the kind of the problem, as the
# registrant reads it.
PROBLEMS = {
    "not_found": N_("Nothing was found at %(url)s (HTTP %(status)s)."),
    "http_status": N_("%(url)s answered with an error (HTTP %(status)s)."),
    "not_a_feed": N_(
        "%(url)s is not a feed, advertises no feed and lists no press releases."
    ),
    "robots": N_("The robots.txt of the site forbids fetching %(url)s."),
    "too_large": N_("The answer of %(url)s is too large to be a feed."),
    "redirects": N_("%(url)s redirects in a loop or too many times."),
    "refused_address": N_(
        "%(url)s leads to a private or local network address, which the portal "
        "does not fetch."
    ),
    "bad_url": N_("%(url)s is not an http:// or https:// address."),
    # Timeouts, unknown names, failed TLS and refused connections alike.
    "unreachable": N_("%(url)s cannot be reached."),
}


class PreviewRefused(Exception):
    """The address cannot be a source; ``kind`` is a key of PROBLEMS."""

    def __init__(
        self, kind: str, url: str, detail: str = "", status: int | None = None
    ) -> None:
        super().__init__(f"{kind}: {url}: {detail}")
        self.kind = kind if kind in PROBLEMS else "unreachable"
        self.url = url
        self.detail = detail
        self.status = status

    @property
    def message(self) -> Message:
        return Message(
            PROBLEMS[self.kind], {"url": self.url, "status": self.status or "?"}
        )


# (the address to use, the municipality's website) -> what it offers.
PreviewSource = Callable[[str, str], Awaitable[SourcePreview]]
