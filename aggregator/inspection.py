"""Why an item looks the way it does: the extraction stages run on a saved
page or feed, or on an address, with every decision shown.

``aggregator inspect`` prints one JSON object per item, so an operator or an
editor can see the language and how it was decided, the dates, the canonical
address and the text the portal would store, without touching the database.
"""

from __future__ import annotations

import dataclasses
import mimetypes
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from aggregator.crawler import Crawler
from extractors.articles import Article, extract_article
from extractors.entry import Entry
from extractors.errors import ExtractionError, NotAFeed
from extractors.feeds import parse_feed
from extractors.labelling import label_entry
from extractors.pages import parse_listing

# Enough of the text to judge the extraction; the rest is in the database.
TEXT_SHOWN = 2000


@dataclasses.dataclass(frozen=True)
class Document:
    """Bytes to inspect, with where they came from and their headers."""

    origin: str
    url: str
    body: bytes
    headers: Mapping[str, str]


def read_document(path: Path, url: str = "") -> Document:
    """A saved file; ``url`` is the address it was saved from, if known."""
    content_type, _encoding = mimetypes.guess_type(path.name)
    headers = {"Content-Type": content_type} if content_type else {}
    return Document(
        str(path), url or path.resolve().as_uri(), path.read_bytes(), headers
    )


async def fetch_document(crawler: Crawler, url: str) -> Document:
    """An address, fetched through the crawler with its usual rules."""
    result = await crawler.fetch(url)
    return Document(url, result.url, result.body, result.headers)


def inspect_document(
    document: Document,
    languages: Sequence[str] = (),
    listing: bool = False,
    classify: Callable[[Entry], dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """One report per item the document holds: a feed's entries, an article,
    or the teasers of a press-release listing, in that order of trying.

    ``listing`` reads an HTML page as a press-release listing, as a source of
    ``kind: page`` is read; an article extractor finds text on a listing too.
    ``classify`` adds each entry's regions and topics with their evidence.
    Raises ``ExtractionError`` when the document is none of these.
    """
    reports = _extract(document, languages, listing)
    if classify is not None:
        for report, entry in reports:
            report.update(classify(entry))
    return [report for report, _entry in reports]


def _extract(
    document: Document, languages: Sequence[str], listing: bool
) -> list[tuple[dict[str, Any], Entry]]:
    if listing:
        teasers = parse_listing(document.body, document.url, document.headers)
        return [
            _report(document, "listing teaser", label_entry(entry, languages))
            for entry in teasers
        ]

    try:
        feed = parse_feed(document.body, document.url, document.headers, languages)
    except NotAFeed:
        pass
    else:
        return [
            _report(document, "feed entry", label_entry(entry, languages))
            for entry in feed.entries
        ]

    try:
        article = extract_article(document.body, document.url, document.headers)
    except ExtractionError as not_article:
        try:
            teasers = parse_listing(document.body, document.url, document.headers)
        except ExtractionError:
            raise not_article from None
        return [
            _report(document, "listing teaser", label_entry(entry, languages))
            for entry in teasers
        ]
    entry = label_entry(_article_entry(article), languages)
    return [_report(document, "article", entry)]


def _article_entry(article: Article) -> Entry:
    extra = {"canonical_url": article.canonical_url} if article.canonical_url else {}
    return Entry(
        title=article.title,
        link=article.url,
        summary=article.text,
        content_html=article.html,
        published=article.published,
        authors=article.authors,
        image=article.image,
        language=article.language,
        extra=extra,
    )


def _report(
    document: Document, kind: str, entry: Entry
) -> tuple[dict[str, Any], Entry]:
    text = entry.summary
    return {
        "origin": document.origin,
        "kind": kind,
        "title": entry.title,
        "link": entry.link,
        "canonical_url": entry.extra.get("canonical_url", ""),
        "language": entry.language,
        "language_method": entry.extra.get("language_method", ""),
        "language_confidence": float(entry.extra.get("language_confidence", 0)),
        "published": entry.published.isoformat() if entry.published else None,
        "updated": entry.updated.isoformat() if entry.updated else None,
        "authors": list(entry.authors),
        "categories": list(entry.categories),
        "image": entry.image,
        "words": entry.word_count,
        "text": text[:TEXT_SHOWN] + ("…" if len(text) > TEXT_SHOWN else ""),
    }, entry
