"""Bytes to labelled entries, in worker processes: the CPU-bound half of a crawl.

feedparser costs milliseconds of CPU per feed and trafilatura per page, so a
first crawl of thousands of feeds is bound to one core if it parses where it
fetches. The conductor builds one pool of parse workers at start-up, hands it
to every crawl and shuts it down on the way out; the functions here are what
the workers run. They take and return plain values (bytes, headers, entries)
and import only the extractors, so that a worker stays small.

The extractors (feedparser, trafilatura, the language model: 50 MB) are
imported by the functions that use them, not with this module: the crawling
process imports it to hand its functions to the workers and never parses
itself once the workers run.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import sys
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING

from extractors.entry import Entry

if TYPE_CHECKING:
    from extractors.articles import Article

# What the fork server imports before it forks the first worker, so that every
# worker starts with it and shares its pages.
_WORKER_MODULES = [
    "extractors.articles",
    "extractors.feeds",
    "extractors.labelling",
    "extractors.pages",
    "aggregator.fork_server",
]


@dataclass(frozen=True)
class ParsedSource:
    """The entries of a fetched feed or listing, labelled, with its hints."""

    entries: list[Entry]
    ttl_minutes: int | None = None
    # WebSub discovery: the hub a feed names and its rel=self address.
    hub: str = ""
    self_url: str = ""


def parse_source(
    kind: str,
    body: bytes,
    url: str,
    headers: Mapping[str, str],
    languages: Sequence[str] = (),
    selector: str | None = None,
) -> ParsedSource:
    """The labelled entries of a feed (``kind`` "feed") or a listing ("page").

    Raises ``ExtractionError`` when the bytes are neither.
    """
    from extractors.feeds import parse_feed
    from extractors.labelling import label_entry
    from extractors.pages import parse_listing

    if kind == "page":
        entries = parse_listing(body, url, headers, selector=selector)
        parsed = ParsedSource(entries)
    else:
        feed = parse_feed(body, url, headers, languages)
        parsed = ParsedSource(feed.entries, feed.ttl_minutes, feed.hub, feed.self_url)

    labelled = [label_entry(entry, languages) for entry in parsed.entries]
    return dataclasses.replace(parsed, entries=labelled)


def complete_entry(
    entry: Entry, body: bytes, url: str, headers: Mapping[str, str]
) -> Entry:
    """``entry`` completed from its article page's bytes, fetched from ``url``.

    The page's text, metadata and language replace the teaser's; the entry
    remembers the hash it had as its source published it. Raises
    ``ExtractionError`` when the page holds no article.
    """
    from extractors.articles import extract_article
    from extractors.labelling import label_entry

    article = extract_article(body, url, headers)
    completed = merge_release(entry, article)
    # The language is decided again on the article's own text.
    languages = (entry.language,) if entry.language else ()
    completed = dataclasses.replace(completed, source_hash=entry.change_hash)
    return label_entry(completed, languages)


def keep_feed_headline(original: Entry, completed: Entry) -> Entry:
    """A feed entry completed from its page, with the feed's title and date.

    A feed's own title and date are what its publisher chose to say; the
    article page only fills in the text, image and authors.
    """
    return dataclasses.replace(
        completed,
        title=original.title or completed.title,
        published=original.published or completed.published,
    )


def merge_release(entry: Entry, article: Article) -> Entry:
    """The entry with what its release page says winning over the teaser."""
    extra = dict(entry.extra)
    if article.canonical_url:
        extra["canonical_url"] = article.canonical_url
    else:
        # The URL canonicalised from the entry's link is no page's own say.
        extra.pop("canonical_url", None)
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


def make_parse_pool(workers: int) -> ProcessPoolExecutor | None:
    """A pool of ``workers`` parse processes, or None to parse on threads.

    The processes are forked from a server process that has imported the
    extractors once, so a worker starts in milliseconds. Start them with
    ``start_parse_workers`` and shut the pool down when the program ends.
    """
    if workers < 1:
        return None
    context = multiprocessing.get_context("forkserver")
    # A fork of a process that runs threads (the event loop's helpers, the
    # database pool) may inherit a lock held by one of them; the fork server
    # is a fresh single-threaded process.
    context.set_forkserver_preload([__name__, *_WORKER_MODULES])
    return ProcessPoolExecutor(workers, mp_context=context)


def start_parse_workers(pool: ProcessPoolExecutor, workers: int) -> None:
    """Start every worker of ``pool`` now, each with only the extractors loaded.

    multiprocessing would import the program's main module again in each
    worker (for the ``aggregator`` command, the whole CLI, web app and
    database layer: 50 MB more per worker), so the workers are started here
    with the main module's origin hidden, which they never need.
    """
    main = sys.modules["__main__"]
    spec, path = main.__spec__, main.__dict__.pop("__file__", None)
    main.__spec__ = None
    try:
        # One task per worker while none is idle makes the pool start them all.
        started = [pool.submit(os.getpid) for _ in range(workers)]
        wait(started)
    finally:
        main.__spec__ = spec
        if path is not None:
            main.__file__ = path
