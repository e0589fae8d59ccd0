"""Per-host politeness: a few requests at a time and a gap between them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Protocol


class SharedHosts(Protocol):
    """Politeness kept with other processes (``aggregator.host_leases``)."""

    def hold(self, host: str, gap: float) -> AbstractAsyncContextManager[None]: ...


@dataclass
class _Host:
    slots: asyncio.Semaphore
    next_start: float = 0.0
    last_start: float = float("-inf")
    waiting: int = field(default=0)


class HostGate:
    """Admits requests to one host at most ``concurrency`` at a time, with
    request starts at least ``gap`` seconds apart (or the host's Crawl-delay,
    when it asks for more), and at most ``in_flight`` requests over all hosts.

    Small municipal servers are the reason: a crawl of a town hall's twenty
    feeds must look like one careful visitor, not a burst. The overall limit
    counts requests on the wire only: one waiting for its host's gap holds no
    place that a request to another host could use. With ``shared``, each
    request also waits its turn among the other workers' requests to the
    host.
    """

    def __init__(
        self,
        concurrency: int,
        gap: float,
        clock: Callable[[], float] = time.monotonic,
        in_flight: int | None = None,
        shared: SharedHosts | None = None,
    ) -> None:
        self._concurrency = concurrency
        self._shared = shared
        self._gap = gap
        self._clock = clock
        self._in_flight = asyncio.Semaphore(in_flight) if in_flight else None
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
                gap = max(self._gap, delay)
                # Reserve a start time before sleeping, so that requests queued
                # behind this one space themselves out from it.
                now = self._clock()
                start = max(now, state.next_start)
                state.next_start = start + gap
                if start > now:
                    await asyncio.sleep(start - now)
                async with self._hold_shared(host, gap):
                    if self._in_flight is None:
                        state.last_start = self._clock()
                        yield
                        return
                    async with self._in_flight:
                        await self._keep_gap(state, gap)
                        yield
        finally:
            state.waiting -= 1
            if state.waiting == 0 and state.next_start <= self._clock():
                del self._hosts[host]

    def _hold_shared(self, host: str, gap: float) -> AbstractAsyncContextManager[None]:
        if self._shared is None:
            return nullcontext()
        return self._shared.hold(host, gap)

    async def _keep_gap(self, state: _Host, gap: float) -> None:
        # A wait for a place on the wire may have brought this start close to
        # the previous one's, which also waited; the gap is kept all the same.
        while (wait := state.last_start + gap - self._clock()) > 0:
            await asyncio.sleep(wait)
        state.last_start = self._clock()
        state.next_start = max(state.next_start, state.last_start + gap)
