"""Search over the items' titles and text, one result per story.

Both databases answer through ``search_stories``. SQLite keeps an FTS5 table,
``item_search`` (tokenizer unicode61 with diacritics removed), filled by
triggers on ``items``; PostgreSQL keeps a generated ``items.search_document``
tsvector with a GIN index. The PostgreSQL configuration, ``portal_search``,
is 'simple' with unaccent: items come in 24 languages, PostgreSQL stems only
some of them (not Bulgarian, Czech, Polish, Slovak, Slovenian, Croatian,
Latvian, Estonian or Maltese), and a query does not say its language, so
words are matched as written, without accents and case, as FTS5 does.

A query is words, all of which must be in the item; a word ending in ``*``
is a prefix. Anything else the reader types (quotes, brackets, AND, NEAR) is
a plain word or a separator, never query syntax.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import unescape
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    bindparam,
    case,
    column,
    func,
    literal_column,
    or_,
    select,
    table,
    tuple_,
)
from sqlalchemy.orm import Session, joinedload

from storage.items import items_in_region, items_in_topic
from storage.models import Item, Region
from storage.publication import is_public
from storage.stories import HEADLINE

MAX_TERMS = 12
# A prefix shorter than this would match a good part of the dictionary.
MIN_PREFIX = 3
# Text beyond this is not indexed: PostgreSQL refuses a tsvector over 1 MB,
# and a reader finds an article by what its first pages say.
INDEXED_CHARS = 100_000
_TERM = re.compile(r"([^\W_]+)(\*?)")
_TAG = re.compile(r"<[^>]*>")
# SQLite's FTS5 table, which no ORM model describes.
_ITEM_SEARCH = table("item_search", column("rowid"))


class SearchError(ValueError):
    """A query that cannot be searched for, with what to do instead."""


class EmptyQuery(SearchError):
    """The query holds no word."""


class TooManyWords(SearchError):
    """The query holds more than MAX_TERMS words."""


class UnknownRegion(SearchError):
    """No region has the code or name a reader gave."""


@dataclass(frozen=True)
class Term:
    """One word of a query: as typed (lower case) and folded for highlighting."""

    text: str
    folded: str
    prefix: bool = False


@dataclass(frozen=True)
class SearchFilters:
    """What a reader narrowed the search to; None is no restriction."""

    language: str | None = None
    # A region code: the region and every region below it.
    region: str | None = None
    topic: str | None = None
    since: datetime | None = None
    # Exclusive: the first moment not wanted.
    until: datetime | None = None


@dataclass(frozen=True)
class SearchCursor:
    """A position in a result list that new arrivals do not shift: the rank
    and date of a story's item do not depend on the other items."""

    rank: int
    published_at: datetime
    item_id: int

    def encode(self) -> str:
        stamp = int(self.published_at.timestamp() * 1_000_000)
        return f"{self.rank}-{stamp}-{self.item_id}"

    @classmethod
    def decode(cls, text: str) -> SearchCursor | None:
        parts = text.split("-")
        if len(parts) != 3 or not all(part.isdigit() for part in parts):
            return None
        rank, stamp, item_id = (int(part) for part in parts)
        moment = datetime.fromtimestamp(stamp / 1_000_000, tz=UTC)
        return cls(rank, moment, item_id)


@dataclass(frozen=True)
class SearchHit:
    """A story found: its best matching item, and how many of the query's
    words that item's title holds."""

    item: Item
    rank: int

    @property
    def cursor(self) -> SearchCursor:
        return SearchCursor(self.rank, self.item.published_at, self.item.id)


def parse_query(text: str) -> tuple[Term, ...]:
    """The words of a reader's query; SearchError when there are none or too many."""
    terms: dict[tuple[str, bool], Term] = {}
    for match in _TERM.finditer(text):
        word = match.group(1).lower()
        prefix = bool(match.group(2)) and len(word) >= MIN_PREFIX
        terms.setdefault((word, prefix), Term(word, fold(word), prefix))
    if not terms:
        raise EmptyQuery("Type at least one word to search for.")
    if len(terms) > MAX_TERMS:
        raise TooManyWords(f"Search for at most {MAX_TERMS} words at once.")
    return tuple(terms.values())


def fold(text: str) -> str:
    """Lower case without diacritics, as both databases compare words."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return bare.casefold()


def search_body(summary: str | None, content_html: str | None) -> str:
    """The text indexed beside the title: the summary and the article's text.

    Tags are cut with a pattern, as PostgreSQL's generated column does: the
    HTML is sanitised already, and a parser took twenty times as long on
    every stored item (220 against 9 microseconds).
    """
    # Limitation: a ">" inside an attribute value leaves the rest of the
    # value in the indexed text.
    body = unescape(_TAG.sub(" ", content_html)) if content_html else ""
    if summary and body and _told_in(summary, body):
        # The text of an article completed from its page, or a teaser that
        # opens the content: indexing it twice only made the index larger and
        # every stored item slower (0.72 against 0.65 ms on the ingest
        # benchmark's entries, this check included).
        # PostgreSQL's generated column indexes both; a tsvector keeps each
        # word once with its positions.
        summary = ""
    return f"{summary or ''}\n{body}"[:INDEXED_CHARS]


def _told_in(summary: str, body: str) -> bool:
    """Whether the summary's first and last lines are in the body's text.

    Compared without white space, which tags cut out of the body leave where
    the summary has none ("<b>Graz</b>," against "Graz,").
    Limitation: a summary whose first and last lines open and close the
    article but whose middle differs has that middle left out of the index.
    """
    # A summary of white space alone has no lines, and nothing to index.
    lines = summary.strip().splitlines() or [""]
    squeezed = "".join(body.split())
    return all("".join(line.split()) in squeezed for line in (lines[0], lines[-1]))


def search_stories(
    session: Session,
    query: str | Sequence[Term],
    filters: SearchFilters = SearchFilters(),
    limit: int = 30,
    after: SearchCursor | None = None,
) -> list[SearchHit]:
    """Stories with an item holding every word of ``query``, best first.

    Best is the most query words in the title, then the newest: each story
    is shown by its best matching item (its headline when that ties).
    Raises SearchError for a query without words.

    Limitation: relevance counts title words instead of BM25 or ts_rank,
    which depend on the whole collection: with them a page's order moved as
    news arrived, and the next page repeated or skipped stories.
    Limitation: every matching item is read and sorted to find each story's
    best one, so a word in one item of twelve among 200,000 takes about a
    quarter of a second a page (benchmarks/search.py).
    """
    terms = parse_query(query) if isinstance(query, str) else tuple(query)
    if not terms:
        raise EmptyQuery("Type at least one word to search for.")
    dialect = session.get_bind().dialect.name
    # Materialised once: inlined, the title ranks were computed twice, for
    # the story's best item and for the page's order (a quarter of the time).
    matches = (
        _matching_items(dialect, terms, filters)
        .cte("matches")
        .prefix_with("MATERIALIZED")
    )

    ranked = select(
        matches,
        func.row_number()
        .over(
            partition_by=func.coalesce(matches.c.story_id, -matches.c.id),
            order_by=(
                matches.c.rank.desc(),
                matches.c.headline.desc(),
                matches.c.published_at.desc(),
                matches.c.id.desc(),
            ),
        )
        .label("place"),
    ).subquery("ranked")
    order = (ranked.c.rank, ranked.c.published_at, ranked.c.id)
    page = (
        select(*order)
        .where(ranked.c.place == 1)
        .order_by(*(column.desc() for column in order))
        .limit(limit)
    )
    if after is not None:
        page = page.where(
            tuple_(*order) < (after.rank, after.published_at, after.item_id)
        )
    rows = session.execute(page).all()

    items = {
        item.id: item
        for item in session.scalars(
            select(Item)
            .options(joinedload(Item.source))
            .where(Item.id.in_([row.id for row in rows]))
        )
    }
    return [SearchHit(items[row.id], int(row.rank)) for row in rows]


def next_search_cursor(hits: Sequence[SearchHit], limit: int) -> SearchCursor | None:
    return hits[-1].cursor if len(hits) >= limit else None


def _matching_items(
    dialect: str, terms: Sequence[Term], filters: SearchFilters
) -> Select[Any]:
    """Every item holding all the terms and passing the filters, with its rank.

    The one place that says which items a reader may find.
    """
    if dialect == "postgresql":
        matched, in_title = _postgres_match(terms)
    else:
        matched, in_title = _sqlite_match(terms)
    rank: ColumnElement[int] = sum(
        (case((hit, 1), else_=0) for hit in in_title), start=literal_column("0")
    )
    query = select(
        Item.id,
        Item.story_id,
        Item.published_at,
        rank.label("rank"),
        case((Item.story_role == HEADLINE, 1), else_=0).label("headline"),
    ).where(matched, is_public())

    if filters.language is not None:
        query = query.where(Item.language == filters.language)
    if filters.region is not None:
        query = query.where(Item.id.in_(items_in_region(filters.region)))
    if filters.topic is not None:
        query = query.where(Item.id.in_(items_in_topic(filters.topic)))
    if filters.since is not None:
        query = query.where(Item.published_at >= filters.since)
    if filters.until is not None:
        query = query.where(Item.published_at < filters.until)
    return query


def _sqlite_match(
    terms: Sequence[Term],
) -> tuple[ColumnElement[bool], list[ColumnElement[bool]]]:
    # Every word becomes an FTS5 string ("..."), so nothing typed is syntax;
    # the words hold only letters and digits, never a quote.
    phrases = [f'"{term.text}"' + ("*" if term.prefix else "") for term in terms]

    def rows_matching(expression: str, name: str) -> ColumnElement[bool]:
        found = select(_ITEM_SEARCH.c.rowid).where(
            literal_column("item_search").op("MATCH")(
                bindparam(name, expression, unique=True)
            )
        )
        return Item.id.in_(found)

    everywhere = rows_matching(" ".join(phrases), "query")
    in_title = [rows_matching(f"{{title}} : {each}", "title") for each in phrases]
    return everywhere, in_title


def _postgres_match(
    terms: Sequence[Term],
) -> tuple[ColumnElement[bool], list[ColumnElement[bool]]]:
    document: ColumnElement[Any] = literal_column("items.search_document")
    config: ColumnElement[Any] = literal_column("'portal_search'::regconfig")
    # A quoted lexeme ('...') is never tsquery syntax; the words hold no quote.
    lexemes = [f"'{term.text}'" + (":*" if term.prefix else "") for term in terms]

    def matching(expression: str, name: str) -> ColumnElement[bool]:
        wanted = func.to_tsquery(config, bindparam(name, expression, unique=True))
        return document.op("@@")(wanted)

    everywhere = matching(" & ".join(lexemes), "query")
    # Title words carry weight A in the document.
    in_title = [
        matching(each + ("A" if each.endswith("*") else ":A"), "title")
        for each in lexemes
    ]
    return everywhere, in_title


def region_code(session: Session, text: str) -> str:
    """The code of the region a reader named by its code or its name.

    Among regions of one name, the largest (highest in the tree) wins.
    Raises SearchError when no region has that code or name.
    """
    wanted = text.strip()
    for code in dict.fromkeys((wanted, wanted.upper())):
        if session.get(Region, code) is not None:
            return code
    # Limitation: a name is found by a scan of the region tree (150,000 rows);
    # only a region's main name counts, not its other names (Österreich for
    # Austria), and SQLite's lower() folds only ASCII letters.
    found = session.scalars(
        select(Region.code)
        .where(
            or_(
                Region.name == wanted,
                func.lower(Region.name) == wanted.lower(),
            )
        )
        .order_by(func.length(Region.path), Region.code)
        .limit(1)
    ).first()
    if found is None:
        raise UnknownRegion(f"No region has the code or name {wanted!r}.")
    return found
