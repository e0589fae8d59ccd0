"""A registration's check of an address: one fetch through the crawler.

Handed to the web app when it is built (``Runtime.web_app``), so that a
municipality's address meets the same rules as every crawl: the address
guard, robots.txt, politeness, the size cap and the redirect limits.
"""

from __future__ import annotations

import logging

from aggregator.addresses import AddressGuard, check_host
from aggregator.checks import FeedCheck, PageCheck, check_address
from aggregator.crawler import Crawler
from aggregator.errors import FetchError
from aggregator.robots import RobotsStore
from aggregator.settings import Settings
from extractors.entry import Entry
from publisher.source_preview import PreviewItem, PreviewRefused, SourcePreview

logger = logging.getLogger(__name__)

PREVIEW_ITEMS = 5


class SourcePreviewer:
    """``await previewer(url, website)``: the feed or listing ``url`` offers."""

    def __init__(self, settings: Settings, robots: RobotsStore) -> None:
        self._settings = settings
        self._robots = robots

    async def __call__(self, url: str, website: str) -> SourcePreview:
        try:
            await check_host(AddressGuard(self._settings.allow_hosts), website)
        except FetchError as error:
            raise _refusal(error, website) from error

        # One crawler per check: registrations are rare, and a pool bound to
        # one event loop would not outlive a test client's loop.
        async with Crawler(self._settings, robots=self._robots) as crawler:
            try:
                check = await check_address(crawler, url)
            except FetchError as error:
                raise _refusal(error, url) from error
        return _preview(check, url)


def _refusal(error: FetchError, url: str) -> PreviewRefused:
    logger.info(
        "Registration address refused",
        extra={"url": error.url, "kind": error.kind, "error": str(error)},
    )
    kind = error.kind
    if kind == "http_status" and error.status in (404, 410):
        kind = "not_found"
    # The registrant reads the address they gave; the hop that failed (a
    # redirect, robots.txt) goes to the log and the attempt's detail.
    return PreviewRefused(kind, url, f"{error.url}: {error}", error.status)


def _preview(check: FeedCheck | PageCheck, url: str) -> SourcePreview:
    if isinstance(check, FeedCheck):
        feed = check.feed
        return SourcePreview(
            check.url, "feed", feed.title, feed.language or None, _items(feed.entries)
        )

    for advertised in check.working_feeds:
        found = advertised.feed
        assert found is not None
        return SourcePreview(
            advertised.candidate.url,
            "feed",
            found.title or advertised.candidate.title,
            found.language or None,
            _items(found.entries),
        )

    if check.releases:
        return SourcePreview(check.url, "page", "", None, _items(check.releases))
    raise PreviewRefused("not_a_feed", url, check.listing_problem)


def _items(entries: list[Entry]) -> list[PreviewItem]:
    dated = sorted(
        entries,
        key=lambda entry: entry.published.timestamp() if entry.published else 0,
        reverse=True,
    )
    return [
        PreviewItem(entry.title, entry.link, entry.published)
        for entry in dated[:PREVIEW_ITEMS]
    ]
