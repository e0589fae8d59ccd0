"""The feeds a web page advertises, for an operator registering a site.

First the feeds the page declares in its head (``<link rel="alternate">`` with
a feed type, RSS autodiscovery), then links in the page that look like feeds
by their address. Candidates are only that: the caller fetches each to know.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urldefrag, urljoin, urlsplit

from bs4 import BeautifulSoup, Tag

from extractors.encodings import decode_html

FEED_TYPES = {
    "application/rss+xml",
    "application/atom+xml",
    "application/feed+json",
    "application/rdf+xml",
}
# An address whose last part names a feed format, or "feed" / "rss" itself;
# "rss" anywhere in it is a weaker hint that the check will confirm or not.
_FEED_PATH = re.compile(r"(?:\.(?:rss|atom|xml)|(?:^|/)(?:feed|rss))/?$", re.I)
_SITEMAP = re.compile(r"sitemap", re.I)


@dataclass(frozen=True, slots=True)
class DiscoveredFeed:
    url: str
    title: str = ""
    # The declared type, or "" for a link found by its address only.
    type: str = ""

    @property
    def advertised(self) -> bool:
        """Whether the page declares the feed rather than merely linking to it."""
        return bool(self.type)


def discover_feeds(
    body: bytes, url: str, headers: Mapping[str, str] | None = None
) -> list[DiscoveredFeed]:
    """The feeds the page at ``url`` advertises, declared ones first, each once."""
    soup = BeautifulSoup(decode_html(body, headers), "lxml")
    base = soup.find("base", href=True)
    base_url = urljoin(url, str(base["href"])) if isinstance(base, Tag) else url

    found: dict[str, DiscoveredFeed] = {}
    for link in soup.find_all("link", href=True):
        rel = [part.lower() for part in link.get_attribute_list("rel") if part]
        kind = str(link.get("type", "")).split(";")[0].strip().lower()
        address = _absolute(str(link["href"]), base_url)
        if "alternate" in rel and kind in FEED_TYPES and address:
            title = " ".join(str(link.get("title", "")).split())
            found.setdefault(address, DiscoveredFeed(address, title, kind))

    for anchor in soup.find_all("a", href=True):
        address = _absolute(str(anchor["href"]), base_url)
        if address and _looks_like_feed(address) and address not in found:
            text = anchor.get_text(" ") or str(anchor.get("title", ""))
            found[address] = DiscoveredFeed(address, " ".join(text.split()))
    return list(found.values())


def _looks_like_feed(address: str) -> bool:
    parts = urlsplit(address)
    if _SITEMAP.search(parts.path):
        return False
    return bool(_FEED_PATH.search(parts.path)) or "rss" in address.lower()


def _absolute(href: str, base: str) -> str:
    address = urldefrag(urljoin(base, href.strip()))[0] if href.strip() else ""
    return address if urlsplit(address).scheme in ("http", "https") else ""
