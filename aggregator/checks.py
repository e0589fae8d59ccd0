"""What an address offers as a source: a feed, feeds it advertises, or releases.

``aggregator sources check URL`` prints this for an operator; a registration
asks the same question of the address a municipality gives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from aggregator.crawler import Crawler
from aggregator.errors import FetchError
from extractors.discovery import DiscoveredFeed, discover_feeds
from extractors.entry import Entry
from extractors.errors import NotAFeed, NotAPage
from extractors.feeds import ParsedFeed, parse_feed
from extractors.pages import parse_listing

# A homepage may link to dozens of "rss" addresses; each check is a fetch.
MAX_FEEDS_CHECKED = 10
LATEST = 5


@dataclass(frozen=True)
class FeedCheck:
    """An address that is a feed."""

    url: str
    feed: ParsedFeed

    @property
    def latest(self) -> list[tuple[str, datetime | None]]:
        """Titles and dates of the newest entries, newest first where dated."""
        undated = datetime.min.replace(tzinfo=UTC)
        dated = sorted(
            self.feed.entries,
            key=lambda entry: entry.published or undated,
            reverse=True,
        )
        return [(entry.title, entry.published) for entry in dated[:LATEST]]


@dataclass(frozen=True)
class AdvertisedFeed:
    """A feed a page advertises, and what fetching it gave."""

    candidate: DiscoveredFeed
    feed: ParsedFeed | None = None
    problem: str = ""


@dataclass(frozen=True)
class PageCheck:
    """An address that is an HTML page."""

    url: str
    feeds: list[AdvertisedFeed] = field(default_factory=list)
    releases: list[Entry] = field(default_factory=list)
    # Why the page reads as no press-release listing, when it does not.
    listing_problem: str = ""

    @property
    def working_feeds(self) -> list[AdvertisedFeed]:
        return [feed for feed in self.feeds if feed.feed is not None]


async def check_address(crawler: Crawler, url: str) -> FeedCheck | PageCheck:
    """Fetch ``url`` and say what it offers.

    Raises ``FetchError`` when the address itself cannot be fetched; any
    other answer is described, down to why it is no listing.
    """
    result = await crawler.fetch(url)
    try:
        return FeedCheck(
            result.url, parse_feed(result.body, result.url, result.headers)
        )
    except NotAFeed:
        pass

    candidates = discover_feeds(result.body, result.url, result.headers)
    feeds = [await _check_feed(crawler, c) for c in candidates[:MAX_FEEDS_CHECKED]]
    page = PageCheck(result.url, feeds)
    if page.working_feeds:
        return page

    try:
        releases = parse_listing(result.body, result.url, result.headers)
    except NotAPage as error:
        return PageCheck(result.url, feeds, listing_problem=str(error))
    return PageCheck(result.url, feeds, releases)


async def _check_feed(crawler: Crawler, candidate: DiscoveredFeed) -> AdvertisedFeed:
    # A candidate that fails is a finding to print, not an error of the check.
    try:
        result = await crawler.fetch(candidate.url)
        feed = parse_feed(result.body, result.url, result.headers)
    except FetchError as error:
        return AdvertisedFeed(candidate, problem=f"{error.kind}: {error}")
    except NotAFeed as error:
        return AdvertisedFeed(candidate, problem=f"not a feed: {error}")
    return AdvertisedFeed(candidate, feed)


def describe_check(check: FeedCheck | PageCheck) -> list[str]:
    """The lines ``aggregator sources check`` prints."""
    if isinstance(check, FeedCheck):
        feed = check.feed
        lines = [
            f"Feed: {feed.title or '(no title)'}",
            f"  address:  {check.url}",
            f"  language: {feed.language or 'not declared'}",
            f"  entries:  {len(feed.entries)}",
        ]
        lines += [f"  {_day(day)}  {title}" for title, day in check.latest]
        return lines

    lines = [f"HTML page: {check.url}"]
    if check.feeds:
        lines.append(f"Advertised feeds ({len(check.feeds)}):")
    for advertised in check.feeds:
        found = advertised.feed
        state = f"ok, {len(found.entries)} entries" if found else advertised.problem
        title = advertised.candidate.title or (found.title if found else "")
        lines.append(f"  {advertised.candidate.url}  {title!r}: {state}")
    if check.working_feeds:
        return lines

    lines.append("No working feed advertised.")
    if check.listing_problem:
        lines.append(f"Not a press-release listing: {check.listing_problem}")
        return lines
    lines.append(
        f"Looks like a press-release listing: {len(check.releases)} release links"
    )
    lines += [
        f"  {_day(entry.published)}  {entry.title}  {entry.link}"
        for entry in check.releases[:LATEST]
    ]
    return lines


def _day(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d") if moment else "(no date)  "
