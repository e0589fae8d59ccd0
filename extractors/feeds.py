"""RSS 0.9x/1.0/2.0 and Atom bytes to entries, with feedparser.

feedparser is handed bytes and the response headers, never a URL: fetching
is the crawler's job, with its timeouts, size cap and conditional GET.
"""

from __future__ import annotations

import calendar
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import feedparser

from extractors.encodings import feed_as_utf8
from extractors.entry import Entry
from extractors.errors import NotAFeed
from extractors.sanitise import sanitise_html
from extractors.text import html_to_text

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """A feed's own metadata and its entries."""

    title: str
    link: str
    language: str
    entries: list[Entry]
    ttl_minutes: int | None = None
    # WebSub discovery (W3C WebSub 4): the hub that pushes this feed's updates
    # and the feed's own address, the topic to subscribe to; "" when absent.
    hub: str = ""
    self_url: str = ""


def parse_feed(
    body: bytes,
    url: str,
    headers: Mapping[str, str] | None = None,
    languages: Sequence[str] = (),
) -> ParsedFeed:
    """Parse the bytes of a feed fetched from ``url``.

    ``languages`` are those the source publishes in: they tell which legacy
    code page an undeclared or mis-declared feed most likely uses.

    Raises ``NotAFeed`` when the bytes hold no RSS, Atom or RDF document.
    A feed with broken XML whose entries feedparser could salvage is kept:
    dropping a whole municipal feed for one stray ampersand helps no reader.
    """
    # The text is decoded here, not by feedparser, which reads a feed whose
    # labels are wrong as windows-1252 whatever its language.
    response_headers = _lowercase(headers or {})
    media_type = response_headers.get("content-type", "").split(";")[0].strip()
    response_headers["content-type"] = f"{media_type or 'text/xml'}; charset=utf-8"
    parsed = feedparser.parse(
        feed_as_utf8(body, headers or {}, languages),
        response_headers=response_headers,
        resolve_relative_uris=True,
        sanitize_html=False,
    )

    if not parsed.get("version") and not parsed.entries:
        reason = _bozo_reason(parsed) or "no RSS, Atom or RDF root element"
        raise NotAFeed(f"not a feed: {reason}", url=url)

    if parsed.get("bozo"):
        logger.info(
            "Feed is not well-formed; kept the entries that could be read",
            extra={"url": url, "error": _bozo_reason(parsed)},
        )

    channel = parsed.feed
    language = _language_code(channel.get("language", ""))
    base = channel.get("link", "") or url
    entries = [_entry(raw, language, base) for raw in parsed.entries]
    return ParsedFeed(
        title=_text(channel.get("title", "")),
        link=channel.get("link", ""),
        language=language,
        entries=[entry for entry in entries if entry is not None],
        ttl_minutes=_ttl(channel.get("ttl")),
        hub=_feed_link(channel, "hub", url),
        self_url=_feed_link(channel, "self", url),
    )


def _entry(raw: Any, feed_language: str, base: str) -> Entry | None:
    link = raw.get("link", "") or _alternate_link(raw)
    title = _text(raw.get("title", ""))
    guid = raw.get("id", "") or ""

    # An entry with neither title nor link cannot be shown or linked to.
    if not title and not link:
        return None

    content_html = ""
    for content in raw.get("content", []) or []:
        if content.get("value"):
            content_html = content["value"]
            break
    summary_html = raw.get("summary", "") or ""

    language = (
        _language_code(_detail_language(raw.get("title_detail")))
        or _language_code(raw.get("dc_language", "") or raw.get("language", ""))
        or feed_language
    )
    return Entry(
        title=title or _text(summary_html)[:120],
        link=link,
        guid=guid,
        summary=html_to_text(summary_html or content_html),
        content_html=sanitise_html(content_html or summary_html, base_url=link or base),
        # RSS 1.0's dc:date and Atom's required <updated> are what many
        # feeds give instead of a publication date.
        published=(
            _utc(dict.get(raw, "published_parsed") or dict.get(raw, "created_parsed"))
            or _updated(raw)
        ),
        updated=_updated(raw),
        authors=tuple(_authors(raw)),
        categories=tuple(
            term
            for tag in raw.get("tags", []) or []
            if (term := _text(tag.get("term") or ""))
        ),
        image=_image(raw),
        language=language,
    )


def _lowercase(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def _bozo_reason(parsed: Any) -> str:
    exception = parsed.get("bozo_exception")
    return str(exception) if exception else ""


def _text(value: str) -> str:
    return " ".join(html_to_text(value).split())


def _alternate_link(raw: Any) -> str:
    for link in raw.get("links", []) or []:
        if link.get("rel", "alternate") == "alternate" and link.get("href"):
            return str(link["href"])
    return ""


def _feed_link(channel: Any, rel: str, url: str) -> str:
    # feedparser lists atom:link elements of an RSS channel and the links of
    # an Atom feed alike; the first one with the relation wins.
    for link in channel.get("links", []) or []:
        if link.get("rel") == rel and link.get("href"):
            return urljoin(url, str(link["href"]).strip())
    return ""


def _detail_language(detail: Any) -> str:
    if detail and detail.get("language"):
        return str(detail["language"])
    return ""


def _language_code(tag: str) -> str:
    """``de-AT`` and ``DE_at`` become ``de``; anything else that is no code, ""."""
    primary = tag.strip().replace("_", "-").split("-")[0].lower()
    return primary if len(primary) in (2, 3) and primary.isalpha() else ""


def _utc(parsed_time: time.struct_time | None) -> datetime | None:
    # feedparser normalises every date it understands to a UTC struct_time.
    if not parsed_time:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed_time), tz=UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _updated(raw: Any) -> datetime | None:
    # Asked through FeedParserDict, a missing updated date falls back to the
    # published one with a deprecation warning; the plain dict lookup does not.
    return _utc(dict.get(raw, "updated_parsed"))


def _authors(raw: Any) -> list[str]:
    names = [_text(a.get("name", "")) for a in raw.get("authors", []) or []]
    names = [name for name in names if name]
    if not names and raw.get("author"):
        names = [_text(raw["author"])]
    return names


def _image(raw: Any) -> str:
    for media in raw.get("media_thumbnail", []) or raw.get("media_content", []) or []:
        if media.get("url"):
            return str(media["url"])
    for enclosure in raw.get("enclosures", []) or []:
        if str(enclosure.get("type", "")).startswith("image/") and enclosure.get(
            "href"
        ):
            return str(enclosure["href"])
    image = raw.get("image")
    if image and image.get("href"):
        return str(image["href"])
    return ""


def _ttl(value: Any) -> int | None:
    try:
        minutes = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return minutes if minutes > 0 else None
