"""The portal's e-mails: Jinja2 templates rendered in the reader's language,
assembled as multipart plain text and HTML.

Unlike a page, an e-mail has no request to choose its language from: each
interface language gets its own template environment with its catalogue and
date formats, built once.
"""

from __future__ import annotations

import binascii
import secrets
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.header import Header
from email.utils import format_datetime as rfc2822_date
from email.utils import formataddr, parseaddr
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from publisher.i18n import DEFAULT_LOCALE, N_, Catalogues

TEMPLATES = Path(__file__).parent / "templates" / "mail"
SITE_TITLE = N_("European municipalities news")


class MailTemplates:
    """One template environment per interface language."""

    def __init__(
        self, catalogues: Catalogues, timezone: str = "Europe/Brussels"
    ) -> None:
        self._catalogues = catalogues
        self._zone = ZoneInfo(timezone)
        self._environments: dict[str, Environment] = {}
        self._fragments: dict[tuple[str, str, object], str] = {}

    @property
    def locales(self) -> tuple[str, ...]:
        return self._catalogues.locales

    def environment(self, locale: str) -> Environment:
        if locale not in self._catalogues.locales:
            locale = DEFAULT_LOCALE
        environment = self._environments.get(locale)
        if environment is None:
            environment = self._build(locale)
            self._environments[locale] = environment
        return environment

    def render(self, name: str, locale: str, values: Mapping[str, Any]) -> str:
        return self.environment(locale).get_template(name).render(values)

    def fragment(
        self, name: str, locale: str, key: object, values: Mapping[str, Any]
    ) -> str:
        """A part rendered once per template, language and key, then reused."""
        cache_key = (name, locale, key)
        text = self._fragments.get(cache_key)
        if text is None:
            text = self.render(name, locale, values)
            self._fragments[cache_key] = text
        return text

    def gettext(self, locale: str, message: str) -> str:
        return self._catalogues.translations(locale).gettext(message)

    def ngettext(self, locale: str, singular: str, plural: str, count: int) -> str:
        return self._catalogues.translations(locale).ngettext(singular, plural, count)

    def _build(self, locale: str) -> Environment:
        environment = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
            extensions=["jinja2.ext.i18n"],
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            # Templates are read once: a run renders them a hundred thousand
            # times and the package does not change under it.
            auto_reload=False,
        )
        environment.install_gettext_translations(  # type: ignore[attr-defined]
            self._catalogues.translations(locale), newstyle=True
        )
        zone = self._zone

        # A run formats the same few hundred dates and summaries for thousands
        # of readers: each is worked out once per language.
        dates: dict[datetime, str] = {}
        wrapped: dict[tuple[str, int, str], str] = {}

        def local_datetime(value: datetime) -> str:
            text = dates.get(value)
            if text is None:
                moment = value.astimezone(zone)
                day = format_date(moment, "medium", locale=locale)
                time = format_time(moment, "short", tzinfo=zone, locale=locale)
                text = dates[value] = f"{day} {time}"
            return text

        def local_date(value: datetime) -> str:
            return format_date(value.astimezone(zone), "long", locale=locale)

        def wrap(value: str, width: int = 72, indent: str = "") -> str:
            key = (value, width, indent)
            text = wrapped.get(key)
            if text is None:
                lines = textwrap.wrap(value, width, break_long_words=False)
                text = wrapped[key] = ("\n" + indent).join(lines)
            return text

        environment.filters["local_datetime"] = local_datetime
        environment.filters["local_date"] = local_date
        environment.filters["wrap"] = wrap
        environment.globals["site_title"] = self.gettext(locale, SITE_TITLE)
        environment.globals["locale"] = locale
        return environment


@dataclass(frozen=True, slots=True)
class OutgoingMail:
    """A message ready for SMTP: the envelope and the bytes of the message."""

    sender: str
    recipients: tuple[str, ...]
    data: bytes
    message_id: str


def assemble_message(
    *,
    sender: str,
    to: str,
    subject: str,
    text: str,
    html: str,
    message_id: str,
    date: datetime,
    headers: Mapping[str, str] | None = None,
) -> OutgoingMail:
    """A multipart/alternative message: plain text first, HTML preferred,
    both UTF-8 in base64.

    Written out directly rather than through the email package: a digest
    run makes a hundred thousand messages, and the package's header objects
    and generator cost several times the rest of the run for the same bytes.
    ``to`` is a stored, normalised address (ASCII, no display name); the
    tests read every kind of message back with the email package's parser.
    """
    name, address = parseaddr(sender)
    boundary = f"=_part_{secrets.token_hex(12)}"
    lines = [
        f"Subject: {_header(subject)}",
        f"From: {formataddr((name, address), charset='utf-8')}",
        f"To: {to}",
        f"Date: {rfc2822_date(date, usegmt=True)}",
        f"Message-ID: {message_id}",
        "Auto-Submitted: auto-generated",
        *(f"{header}: {value}" for header, value in (headers or {}).items()),
        "MIME-Version: 1.0",
        # base64 never holds "_", so the boundary cannot occur in a part.
        f'Content-Type: multipart/alternative; boundary="{boundary}"',
        "",
        f"--{boundary}",
        *_text_part(text, "plain"),
        f"--{boundary}",
        *_text_part(html, "html"),
        f"--{boundary}--",
        "",
    ]
    data = "\r\n".join(lines).encode("ascii")
    return OutgoingMail(address, (to,), data, message_id)


def _text_part(text: str, subtype: str) -> list[str]:
    """A UTF-8 text part in base64, encoded in C in one call and cut into
    lines of 76 characters (RFC 2045)."""
    encoded = binascii.b2a_base64(text.encode("utf-8"), newline=False).decode("ascii")
    return [
        f'Content-Type: text/{subtype}; charset="utf-8"',
        "Content-Transfer-Encoding: base64",
        "",
        *(encoded[start : start + 76] for start in range(0, len(encoded), 76)),
    ]


@lru_cache(maxsize=1024)
def _header(value: str) -> str:
    """A header value in RFC 2047 words where it is not ASCII; subjects
    repeat from reader to reader, so each is encoded once."""
    if value.isascii():
        return value
    return Header(value, "utf-8").encode().replace("\n", "\r\n")


def confirmation_message(
    templates: MailTemplates,
    *,
    locale: str,
    sender: str,
    to: str,
    confirm_url: str,
    frequency: str,
    message_id: str,
    now: datetime,
    hours: int,
) -> OutgoingMail:
    """The only e-mail an unconfirmed address ever gets."""
    values = {"confirm_url": confirm_url, "frequency": frequency, "hours": hours}
    return assemble_message(
        sender=sender,
        to=to,
        subject=templates.gettext(locale, N_("Please confirm your subscription")),
        text=templates.render("confirm.txt", locale, values),
        html=templates.render("confirm.html", locale, values),
        message_id=message_id,
        date=now,
    )
