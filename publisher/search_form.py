"""A reader's search as the page's form and the API's query string give it:
checked, and turned into the words and filters the database searches by."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from publisher.context import PortalConfig
from publisher.i18n import N_, Message
from storage.search import (
    MAX_TERMS,
    EmptyQuery,
    SearchFilters,
    Term,
    TooManyWords,
    UnknownRegion,
    parse_query,
    region_code,
)

_LANGUAGE = re.compile(r"[a-z]{2,3}")


class SearchRefused(Exception):
    """A search that cannot be run as asked, with what to tell the reader."""

    def __init__(self, message: Message) -> None:
        super().__init__(str(message))
        self.message = message


@dataclass(frozen=True)
class SearchForm:
    """The fields as the reader filled them in; empty is not narrowed."""

    q: str = ""
    region: str = ""
    topic: str = ""
    lang: str = ""
    since: str = ""
    until: str = ""

    def query(self, before: str | None = None) -> str:
        """The query string of this search, for links to its pages."""
        pairs = [
            (name, value)
            for name, value in (
                ("q", self.q),
                ("region", self.region),
                ("topic", self.topic),
                ("lang", self.lang),
                ("from", self.since),
                ("to", self.until),
                ("before", before or ""),
            )
            if value
        ]
        return urlencode(pairs)


def read_search(
    session: Session, form: SearchForm, config: PortalConfig
) -> tuple[tuple[Term, ...], SearchFilters]:
    """The words and filters of ``form``; SearchRefused saying what is wrong."""
    try:
        terms = parse_query(form.q)
        region = region_code(session, form.region) if form.region else None
    except EmptyQuery as error:
        raise SearchRefused(
            Message(N_("Type at least one word to search for."))
        ) from error
    except TooManyWords as error:
        raise SearchRefused(
            Message(
                N_("Search for at most %(count)s words at once."), {"count": MAX_TERMS}
            )
        ) from error
    except UnknownRegion as error:
        raise SearchRefused(
            Message(
                N_("No region has the code or name %(name)s."), {"name": form.region}
            )
        ) from error

    if form.topic and form.topic not in config.topic_labels:
        raise SearchRefused(Message(N_("Choose a topic from the list.")))
    if form.lang and not _LANGUAGE.fullmatch(form.lang):
        raise SearchRefused(Message(N_("Choose a language from the list.")))
    since = _day(form.since)
    until = _day(form.until)
    return terms, SearchFilters(
        language=form.lang or None,
        region=region,
        topic=form.topic or None,
        since=since,
        # The "to" day is included: the search ends as the next day begins.
        until=until + timedelta(days=1) if until else None,
    )


def _day(text: str) -> datetime | None:
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError as error:
        raise SearchRefused(
            Message(N_("Write dates as YYYY-MM-DD, for example 2026-12-31."))
        ) from error
    return datetime.combine(day, time(), tzinfo=UTC)
