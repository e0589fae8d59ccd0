"""Politeness towards a host kept by all workers together, through the
database (``storage.host_leases``).

Each worker's ``HostGate`` admits its own requests; this adds, inside it,
a slot leased from the host's shared slots and a start time reserved on the
host's shared pace, so that *n* workers send a host no more requests at once
and no closer together than one would.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from storage.host_leases import prepare_host, release_host_slot, take_host_slot

logger = logging.getLogger(__name__)

# How often a request waiting for a slot held elsewhere looks again.
POLL_SECONDS = 0.1


def holder_name() -> str:
    """Who holds a slot, for an operator reading the table: machine, process
    and a random part, unique per crawler."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class SharedHostLeases:
    """The slots and pace of every host, shared with the other workers."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        concurrency: int,
        lease_seconds: float,
        holder: str | None = None,
    ) -> None:
        self._sessions = sessions
        self._concurrency = concurrency
        self._lease_seconds = lease_seconds
        self.holder = holder or holder_name()
        self._prepared: set[str] = set()

    @asynccontextmanager
    async def hold(self, host: str, gap: float) -> AsyncIterator[None]:
        """Hold one of the host's shared slots from a start time at least
        ``gap`` after the previous request's, whichever worker sent it.

        When the database cannot be reached the request goes on with this
        worker's own politeness only: a crawl is not held up by it, and the
        lease of a slot it could not give back runs out by itself.
        """
        slot = await self._take(host, gap)
        try:
            yield
        finally:
            if slot is not None:
                await asyncio.to_thread(self._release, host, slot)

    async def _take(self, host: str, gap: float) -> int | None:
        while True:
            try:
                taken = await asyncio.to_thread(self._try_take, host, gap)
            except SQLAlchemyError as error:
                logger.warning(
                    "Shared host slots unavailable; this request keeps to the "
                    "worker's own limits",
                    extra={"host": host, "error": str(error)},
                )
                return None
            if taken is not None:
                slot, wait = taken
                if wait > 0:
                    await asyncio.sleep(wait)
                return slot
            await asyncio.sleep(POLL_SECONDS * (1 + random.random()))

    def _try_take(self, host: str, gap: float) -> tuple[int, float] | None:
        with self._sessions() as session:
            if host not in self._prepared:
                prepare_host(session, host, self._concurrency)
                session.commit()
                self._prepared.add(host)
            taken = take_host_slot(
                session, host, self._concurrency, self.holder,
                self._lease_seconds, gap,
            )  # fmt: skip
            session.commit()
            return taken

    def _release(self, host: str, slot: int) -> None:
        try:
            with self._sessions() as session:
                release_host_slot(session, host, slot, self.holder)
                session.commit()
        except SQLAlchemyError as error:
            logger.warning(
                "Host slot not given back; its lease runs out by itself",
                extra={"host": host, "slot": slot, "error": str(error)},
            )
