"""The libraries alone: what reading a feed and an article page costs at least.

Run in the same worker processes as the pipeline's stages, on the same bytes,
with the options the pipeline asks of them, and nothing around them: no
decoding rules, text, sanitising, language, URLs or storage.
"""

from __future__ import annotations

import time

import feedparser
import trafilatura

from extractors.language import default_detector


def parse_feed_alone(body: bytes) -> int:
    """feedparser on a feed's bytes; the number of entries it found."""
    parsed = feedparser.parse(
        body,
        response_headers={"content-type": "application/xml; charset=utf-8"},
        resolve_relative_uris=True,
        sanitize_html=False,
    )
    return len(parsed.entries)


def extract_page_alone(body: bytes, url: str) -> bool:
    """trafilatura on a page's bytes, with metadata, formatting, images, links."""
    document = trafilatura.bare_extraction(
        body.decode("utf-8"),
        url=url,
        with_metadata=True,
        include_comments=False,
        include_formatting=True,
        include_images=True,
        include_links=True,
        output_format="html",
    )
    return document is not None


def warm_up(seconds: float) -> int:
    """Load what a worker loads on its first entry, then stay busy a moment so
    that the next warm-up task lands on another worker."""
    default_detector()
    time.sleep(seconds)
    return 0
