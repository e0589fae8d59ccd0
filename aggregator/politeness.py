"""Per-host politeness: a few requests at a time and a gap between them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field


@dataclass
class _Host:
    slots: asyncio.Semaphore
    next_start: float = 0.0
    waiting: int = field(default=0)


class HostGate:
    """Admits requests to one host at most ``concurrency`` at a time, with
    request starts at least ``gap`` seconds apart (or the host's Crawl-delay,
    when it asks for more).

    Small municipal servers are the reason: a crawl of a town hall's twenty
    feeds must look like one careful visitor, not a burst.
    """

    def __init__(
        self,
        concurrency: int,
        gap: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._concurrency = concurrency
        self._gap = gap
        self._clock = clock
        self._hosts: dict[str, _Host] = {}

    @asynccontextmanager
    async def slot(self, host: str, delay: float = 0.0) -> AsyncIterator[None]:
        """Hold one of the host's slots, starting no sooner than its gap allows."""
        state = self._hosts.get(host)
        if state is None:
            state = self._hosts[host] = _Host(asyncio.Semaphore(self._concurrency))

        state.waiting += 1
        try:
            async with state.slots:
                # Reserve a start time before sleeping, so that requests queued
                # behind this one space themselves out from it.
                now = self._clock()
                start = max(now, state.next_start)
                state.next_start = start + max(self._gap, delay)
                if start > now:
                    await asyncio.sleep(start - now)
                yield
        finally:
            state.waiting -= 1
            if state.waiting == 0 and state.next_start <= self._clock():
                del self._hosts[host]
