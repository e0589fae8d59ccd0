"""The portal's interface languages: catalogues, the reader's choice, formats.

Item text always stays in the language it was published in; only the
interface (menus, labels, dates, numbers) follows the reader. The reader
chooses with a URL prefix (``/de/sources``), which wins over the browser's
``Accept-Language``; without either the interface is English.
"""

from __future__ import annotations

import gettext
import io
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime, format_timedelta
from babel.messages.catalog import Catalog as BabelCatalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from jinja2 import Environment, pass_context
from jinja2.runtime import Context
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.types import Message as ASGIMessage

logger = logging.getLogger(__name__)


def N_(message: str) -> str:  # noqa: N802 (the name Babel extracts)
    """Marks a message for the catalogues; it is translated where it is shown."""
    return message


@dataclass(frozen=True)
class Message:
    """Something to tell a person, translated when shown: a catalogue message
    and the values of its placeholders."""

    text: str
    params: Mapping[str, object] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.text % self.params if self.params else self.text


TRANSLATIONS = Path(__file__).parent / "translations"
DEFAULT_LOCALE = "en"
# The interface languages the portal ships catalogues for, English first.
LOCALES = ("en", "de", "fr", "sv", "bg", "es", "it", "pl")


def read_catalogues(folder: Path, locale: str) -> list[BabelCatalog]:
    """The ``.po`` catalogues of one locale, ``messages.po`` first."""
    paths = sorted(
        (folder / locale / "LC_MESSAGES").glob("*.po"),
        key=lambda path: (path.name != "messages.po", path.name),
    )
    catalogues = []
    for path in paths:
        with path.open("rb") as po:
            catalogues.append(read_po(po, locale=locale))
    return catalogues


class Catalogues:
    """Every interface language's messages, loaded once at start-up."""

    def __init__(self, translations: Mapping[str, gettext.NullTranslations]):
        self._translations = dict(translations)

    @classmethod
    def load(cls, folder: Path = TRANSLATIONS) -> Catalogues:
        """Read every ``<locale>/LC_MESSAGES/*.po`` for every shipped locale.

        Each part of the interface keeps its own ``.po`` file (the portal's
        pages, the editors' pages, the digests, ...) and the files of one
        locale are merged here. They are compiled in memory so that no build
        step stands between a changed translation and the running portal.
        """
        translations: dict[str, gettext.NullTranslations] = {
            DEFAULT_LOCALE: gettext.NullTranslations()
        }
        for locale in LOCALES:
            if locale == DEFAULT_LOCALE:
                continue
            merged: gettext.NullTranslations | None = None
            for catalogue in read_catalogues(folder, locale):
                compiled = io.BytesIO()
                write_mo(compiled, catalogue)
                compiled.seek(0)
                part = gettext.GNUTranslations(compiled)
                if merged is None:
                    merged = part
                else:
                    merged.add_fallback(part)
            if merged is not None:
                translations[locale] = merged

        missing = sorted(set(LOCALES) - set(translations))
        if missing:
            logger.warning(
                "Interface catalogues missing; those readers get English",
                extra={"locales": ",".join(missing), "folder": str(folder)},
            )
        return cls(translations)

    @property
    def locales(self) -> tuple[str, ...]:
        return tuple(code for code in LOCALES if code in self._translations)

    def translations(self, locale: str) -> gettext.NullTranslations:
        return self._translations.get(locale) or self._translations[DEFAULT_LOCALE]


def locale_from_accept_language(header: str, available: Iterable[str]) -> str:
    """The best of ``available`` for an ``Accept-Language`` header.

    Quality values are honoured and a regional tag (``de-AT``) falls back to
    its language; anything unparsable counts as no preference.
    """
    wanted: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if tag and quality > 0:
            wanted.append((-quality, position, tag.strip().replace("_", "-")))

    offered = set(available)
    for _, _, tag in sorted(wanted):
        language = tag.split("-")[0].lower()
        if language in offered:
            return language
    return DEFAULT_LOCALE


class LocaleMiddleware:
    """Takes the locale prefix off the path and records the reader's locale.

    The prefix moves into ``root_path``, so routes match without it and
    ``url_for`` puts it back on every link: a reader who chose ``/fr/`` stays
    in French from page to page.
    """

    def __init__(self, app: ASGIApp, locales: Iterable[str]):
        self.app = app
        self.locales = tuple(locales)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        root = scope.get("root_path", "")
        path: str = scope["path"]
        route_path = path[len(root) :] if path.startswith(root) else path
        first = route_path.split("/", 2)[1] if route_path.startswith("/") else ""
        state = scope.setdefault("state", {})

        state["outer_root"], state["route_path"] = root, route_path
        if first in self.locales:
            scope["root_path"] = scope["app_root_path"] = f"{root}/{first}"
            if route_path == f"/{first}":
                scope["path"] = path + "/"
            state["route_path"] = route_path[len(first) + 1 :] or "/"
            state["locale"] = first
            await self.app(scope, receive, send)
            return

        header = _header(scope, b"accept-language")
        state["locale"] = locale_from_accept_language(header, self.locales)

        async def send_varying(message: ASGIMessage) -> None:
            # The same address answers in several languages: caches must key
            # on the header that chose.
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.add_vary_header("Accept-Language")
            await send(message)

        await self.app(scope, receive, send_varying)


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return ""


def install_i18n(environment: Environment, catalogues: Catalogues) -> None:
    """Give the templates ``_()``, ``{% trans %}`` and locale-aware formats.

    The translations are looked up per render from the request in the
    template's context, so one environment serves every language at once.
    """
    environment.add_extension("jinja2.ext.i18n")

    @pass_context
    def translate(context: Context, message: str) -> str:
        return catalogues.translations(_locale(context)).gettext(message)

    @pass_context
    def translate_plural(
        context: Context, singular: str, plural: str, count: int
    ) -> str:
        translations = catalogues.translations(_locale(context))
        return translations.ngettext(singular, plural, count)

    @pass_context
    def local_datetime(context: Context, value: datetime, style: str = "medium") -> str:
        return format_datetime(
            value, style, tzinfo=value.tzinfo, locale=_locale(context)
        )

    @pass_context
    def language_name(context: Context, code: str) -> str:
        try:
            return Locale.parse(code).get_display_name(_locale(context)) or code
        except (UnknownLocaleError, ValueError):
            return code

    @pass_context
    def local_duration(context: Context, value: timedelta | None) -> str:
        return duration_text(value, _locale(context))

    @pass_context
    def local_number(context: Context, value: float) -> str:
        return format_decimal(value, locale=_locale(context))

    environment.install_gettext_callables(  # type: ignore[attr-defined]
        translate, translate_plural, newstyle=True
    )
    environment.filters["local_datetime"] = local_datetime
    environment.filters["local_number"] = local_number
    environment.filters["local_duration"] = local_duration
    environment.filters["language_name"] = language_name
    environment.globals["interface_locales"] = catalogues.locales
    environment.globals["locale_name"] = locale_name
    environment.globals["current_locale"] = pass_context(_locale)
    environment.globals["path_in_locale"] = path_in_locale


def path_in_locale(request: Request, locale: str) -> str:
    """The address of the page being shown, in another interface language."""
    state = request.scope.get("state", {})
    root = state.get("outer_root", "")
    route_path = state.get("route_path", request.url.path)
    query = f"?{request.url.query}" if request.url.query else ""
    return f"{root}/{locale}{route_path}{query}"


# The units a delay is written in, largest first, and their length.
_Unit = Literal["day", "hour", "minute", "second"]
_UNITS: tuple[tuple[_Unit, int], ...] = (
    ("day", 86400),
    ("hour", 3600),
    ("minute", 60),
    ("second", 1),
)


def duration_text(value: timedelta | None, locale: str) -> str:
    """A delay in its two largest units, in the reader's language: 3 h 20 min."""
    if value is None:
        return "–"
    seconds = max(int(value.total_seconds()), 0)
    parts: list[str] = []
    for unit, length in _UNITS:
        count, seconds = divmod(seconds, length)
        if count and len(parts) < 2:
            parts.append(
                format_timedelta(
                    timedelta(seconds=count * length),
                    granularity=unit,
                    threshold=10_000,
                    format="short",
                    locale=locale,
                )
            )
        elif parts:
            break
    return " ".join(parts) or format_timedelta(
        timedelta(0), granularity="second", format="short", locale=locale
    )


def locale_name(code: str) -> str:
    """A language's name in that language, as a language menu shows it."""
    try:
        name = Locale.parse(code).get_display_name(code) or code
    except (UnknownLocaleError, ValueError):
        return code
    return name[:1].upper() + name[1:]


def _locale(context: Context) -> str:
    request = context.get("request")
    if request is None:
        return DEFAULT_LOCALE
    return str(request.scope.get("state", {}).get("locale", DEFAULT_LOCALE))
