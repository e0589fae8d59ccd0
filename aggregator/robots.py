"""robots.txt, fetched once per host and kept for a while (RFC 9309)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from protego import Protego

from aggregator.errors import FetchError

logger = logging.getLogger(__name__)

# RFC 9309 asks crawlers to read at least 500 KiB of a robots.txt.
MAX_ROBOTS_BYTES = 512 * 1024

Fetch = Callable[[str], Awaitable[tuple[int, bytes]]]
# Rules per origin with the moment they go stale. The conductor keeps one for
# the life of the process, so that every crawl does not ask each host again.
RobotsStore = dict[str, tuple[float, "RobotsRules"]]


@dataclass(frozen=True)
class RobotsRules:
    """What one host's robots.txt says to our user agent."""

    parser: Protego | None
    unreachable: str = ""

    def allows(self, url: str, user_agent: str) -> bool:
        if self.unreachable:
            return False
        return self.parser is None or bool(self.parser.can_fetch(url, user_agent))

    def crawl_delay(self, user_agent: str) -> float:
        if self.parser is None:
            return 0.0
        delay = self.parser.crawl_delay(user_agent)
        # A Crawl-delay of hours would stop a source for good; a minute is
        # already far more than any municipal server needs.
        return min(float(delay), 60.0) if delay else 0.0


ALLOW_ALL = RobotsRules(None)


class RobotsCache:
    """robots.txt rules per origin, each kept for ``lifetime`` seconds."""

    def __init__(
        self,
        fetch: Fetch,
        lifetime: float,
        clock: Callable[[], float] = time.monotonic,
        store: RobotsStore | None = None,
    ) -> None:
        self._fetch = fetch
        self._lifetime = lifetime
        self._clock = clock
        self._rules: RobotsStore = {} if store is None else store
        self._loading: dict[str, asyncio.Lock] = {}

    async def rules_for(self, origin: str) -> RobotsRules:
        """The rules of ``origin`` (scheme://host[:port]), fetched when stale."""
        cached = self._fresh(origin)
        if cached is not None:
            return cached

        # Many sources share a host: the first fetch of its robots.txt is
        # awaited by the rest instead of each asking the server again.
        lock = self._loading.setdefault(origin, asyncio.Lock())
        async with lock:
            cached = self._fresh(origin)
            if cached is not None:
                return cached
            rules = await self._load(origin)
            # A server error may pass soon; it is asked again sooner than a file.
            lifetime = self._lifetime
            if rules.unreachable:
                lifetime = min(lifetime, 600.0)
            self._rules[origin] = (self._clock() + lifetime, rules)
        return rules

    def _fresh(self, origin: str) -> RobotsRules | None:
        cached = self._rules.get(origin)
        if cached is not None and cached[0] > self._clock():
            return cached[1]
        return None

    async def _load(self, origin: str) -> RobotsRules:
        url = f"{origin}/robots.txt"
        try:
            status, body = await self._fetch(url)
        except FetchError as error:
            if error.kind in ("too_large", "redirects"):
                # RFC 9309 2.3.1.3: an unusable robots.txt means no rules.
                return ALLOW_ALL
            # The host itself cannot be reached (DNS, timeout, refused address):
            # the source's own fetch would fail the same way, and its health
            # should say so rather than blame robots.txt.
            raise

        if status >= 500:
            # RFC 9309 2.3.1.4: while robots.txt is unreachable, assume the site
            # disallows everything.
            return RobotsRules(None, unreachable=f"robots.txt answered HTTP {status}")
        if status >= 400:
            return ALLOW_ALL
        text = body[:MAX_ROBOTS_BYTES].decode("utf-8", errors="replace")
        return RobotsRules(Protego.parse(text))
