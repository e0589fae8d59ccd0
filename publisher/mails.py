"""The portal's e-mails: Jinja2 templates rendered in the reader's language,
assembled as multipart plain text and HTML.

Unlike a page, an e-mail has no request to choose its language from: each
interface language gets its own template environment with its catalogue and
date formats, built once.
"""

from __future__ import annotations

import binascii
import textwrap
from collections.abc import Mapping
from datetime import datetime
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
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
) -> Message:
    """A multipart/alternative message: plain text first, HTML preferred.

    Built with the email package's classic classes: a digest run makes a
    hundred thousand of them, and the modern header objects cost several
    times as much for the same bytes.
    """
    message = MIMEMultipart("alternative")
    message["Subject"] = _header(subject)
    name, address = parseaddr(sender)
    message["From"] = formataddr((name, address), charset="utf-8")
    message["To"] = to
    message["Date"] = rfc2822_date(date, usegmt=True)
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    for header, value in (headers or {}).items():
        message[header] = value
    message.attach(_text_part(text, "plain"))
    message.attach(_text_part(html, "html"))
    return message


def _text_part(text: str, subtype: str) -> MIMENonMultipart:
    """A UTF-8 text part in base64, encoded in C in one call and cut into
    lines of 76 (RFC 2045); the email package's encoder loops in Python."""
    part = MIMENonMultipart("text", subtype, charset="utf-8")
    part["Content-Transfer-Encoding"] = "base64"
    encoded = binascii.b2a_base64(text.encode("utf-8"), newline=False).decode("ascii")
    lines = [encoded[start : start + 76] for start in range(0, len(encoded), 76)]
    part.set_payload("\n".join(lines) + "\n")
    return part


@lru_cache(maxsize=1024)
def _header(value: str) -> str:
    """A header value in RFC 2047 words where it is not ASCII; subjects
    repeat from reader to reader, so each is encoded once."""
    return value if value.isascii() else Header(value, "utf-8").encode()


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
) -> Message:
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
