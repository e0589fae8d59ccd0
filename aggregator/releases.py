"""The release pages behind a press-release listing, each fetched once.

A listing gives a teaser per release; the release's own page gives its full
text and metadata. Only releases not stored yet are fetched, through the
crawl's own crawler, so robots.txt, politeness and the limits apply to them
as to the listing. A release page that fails costs its full text, never the
source: its teaser is stored instead.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Sequence

from sqlalchemy.orm import Session, sessionmaker

from aggregator.crawler import Crawler
from aggregator.errors import FetchError
from extractors.articles import Article, extract_article
from extractors.entry import Entry
from extractors.errors import ExtractionError
from storage.items import unknown_keys

logger = logging.getLogger(__name__)


async def complete_new_releases(
    crawler: Crawler,
    sessions: sessionmaker[Session],
    source_id: str,
    entries: Sequence[Entry],
    limit: int,
) -> list[Entry]:
    """The listing's entries that are not stored yet, completed from their pages.

    Stored entries are left out: their item holds the release page's text,
    which the listing's shorter teaser must not overwrite.
    """
    with sessions() as session:
        unseen = unknown_keys(session, source_id, [entry.key for entry in entries])
    return await fetch_releases(
        crawler, [e for e in entries if e.key in unseen], limit, source_id
    )


async def fetch_releases(
    crawler: Crawler, entries: Sequence[Entry], limit: int, source_id: str
) -> list[Entry]:
    """Fetch the pages of the first ``limit`` entries and merge each in.

    Listings put the newest release first, so the cap keeps the news and
    leaves the back catalogue of a first crawl to its teasers.
    """
    # Limitation: a release beyond the cap, or whose page failed, is stored
    # with its teaser and not fetched again, so it keeps the teaser's text.
    fetched = await asyncio.gather(
        *(_complete(crawler, entry, source_id) for entry in entries[:limit])
    )
    if len(entries) > limit:
        logger.debug(
            "Release pages beyond the per-crawl cap keep their teaser",
            extra={"source_id": source_id, "count": len(entries) - limit},
        )
    return [*fetched, *entries[limit:]]


def merge_release(entry: Entry, article: Article) -> Entry:
    """The entry with what its release page says winning over the teaser."""
    extra = dict(entry.extra)
    if article.canonical_url:
        extra["canonical_url"] = article.canonical_url
    # The link stays the listing's: it is the entry's key, and a canonical
    # address in its place would make the release unknown on the next crawl.
    return dataclasses.replace(
        entry,
        title=article.title or entry.title,
        summary=article.text or entry.summary,
        content_html=article.html or entry.content_html,
        published=article.published or entry.published,
        authors=article.authors or entry.authors,
        image=article.image or entry.image,
        language=article.language or entry.language,
        extra=extra,
    )


async def _complete(crawler: Crawler, entry: Entry, source_id: str) -> Entry:
    try:
        result = await crawler.fetch(entry.link)
        article = await asyncio.to_thread(
            extract_article, result.body, result.url, result.headers
        )
    except (FetchError, ExtractionError) as error:
        logger.warning(
            "Release page failed; its teaser from the listing is kept",
            extra={
                "source_id": source_id,
                "url": entry.link,
                "error_kind": error.kind,
                "error": str(error),
                "status": getattr(error, "status", None),
            },
        )
        return entry
    return merge_release(entry, article)
