"""The article pages behind entries, fetched for their full text.

A press-release listing gives a teaser per release, and many feeds give only
a title and a line; the article's own page gives its full text and metadata.
Only entries not stored yet (or edited by their source) are completed, through
the crawl's own crawler, so robots.txt, politeness and the limits apply to
them as to the source. An article page that fails costs its full text, never
the source: the entry is stored as the source gave it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from contextlib import AbstractAsyncContextManager, nullcontext

from sqlalchemy.orm import Session, sessionmaker

from aggregator.crawler import Crawler
from aggregator.errors import FetchError
from aggregator.parsing import complete_entry, keep_feed_headline
from extractors.entry import Entry
from extractors.errors import ExtractionError
from storage.items import stored_hashes, unknown_keys

logger = logging.getLogger(__name__)

# Entered around the fetching of article pages, if given: the crawl gives back
# what it holds for a source while the source waits on the network.
Meanwhile = Callable[[], AbstractAsyncContextManager[None]]


async def complete_new_releases(
    crawler: Crawler,
    sessions: sessionmaker[Session],
    source_id: str,
    entries: Sequence[Entry],
    limit: int,
    parse_pool: Executor | None = None,
    meanwhile: Meanwhile = nullcontext,
) -> list[Entry]:
    """The listing's entries that are not stored yet, completed from their pages.

    Stored entries are left out: their item holds the release page's text,
    which the listing's shorter teaser must not overwrite.
    """
    with sessions() as session:
        unseen = unknown_keys(session, source_id, [entry.key for entry in entries])
    new = [entry for entry in entries if entry.key in unseen]
    if not new:
        return []
    async with meanwhile():
        return await fetch_releases(crawler, new, limit, source_id, parse_pool)


async def complete_short_entries(
    crawler: Crawler,
    sessions: sessionmaker[Session],
    source_id: str,
    entries: Sequence[Entry],
    limit: int,
    min_words: int,
    parse_pool: Executor | None = None,
    meanwhile: Meanwhile = nullcontext,
) -> list[Entry]:
    """Feed entries, those new or edited with fewer than ``min_words`` words
    completed from their article pages; every entry is returned, in order.

    An unchanged entry is never fetched again: its stored item already holds
    what its article page gave.
    """
    with sessions() as session:
        known = stored_hashes(session, source_id, [entry.key for entry in entries])
    short = [
        index
        for index, entry in enumerate(entries)
        if entry.link
        and known.get(entry.key) != entry.content_hash
        and entry.word_count < min_words
    ]
    if not short:
        return list(entries)

    async with meanwhile():
        completed = await fetch_releases(
            crawler, [entries[index] for index in short], limit, source_id, parse_pool
        )
    result = list(entries)
    for index, entry in zip(short, completed, strict=True):
        result[index] = keep_feed_headline(entries[index], entry)
    return result


async def fetch_releases(
    crawler: Crawler,
    entries: Sequence[Entry],
    limit: int,
    source_id: str,
    parse_pool: Executor | None = None,
) -> list[Entry]:
    """Fetch the pages of the first ``limit`` entries and merge each in.

    Listings put the newest release first, so the cap keeps the news and
    leaves the back catalogue of a first crawl to its teasers.
    """
    # Limitation: a release beyond the cap, or whose page failed, is stored
    # with its teaser and not fetched again, so it keeps the teaser's text.
    fetched = await asyncio.gather(
        *(_complete(crawler, entry, source_id, parse_pool) for entry in entries[:limit])
    )
    if len(entries) > limit:
        logger.debug(
            "Release pages beyond the per-crawl cap keep their teaser",
            extra={"source_id": source_id, "count": len(entries) - limit},
        )
    return [*fetched, *entries[limit:]]


async def _complete(
    crawler: Crawler, entry: Entry, source_id: str, parse_pool: Executor | None
) -> Entry:
    # The canonical address is asked for: without tracking parameters, it is
    # the one the site's caches and logs know the article by.
    url = entry.extra.get("canonical_url") or entry.link
    try:
        result = await crawler.fetch(url)
        return await asyncio.get_running_loop().run_in_executor(
            parse_pool, complete_entry, entry, result.body, result.url, result.headers
        )
    except (FetchError, ExtractionError) as error:
        logger.warning(
            "Article page failed; the entry is kept as the source gave it",
            extra={
                "source_id": source_id,
                "url": url,
                "error_kind": error.kind,
                "error": str(error),
                "status": getattr(error, "status", None),
            },
        )
        return entry
