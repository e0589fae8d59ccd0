"""The database writes of a crawl: many sources per transaction, on one thread.

A crawl stores thousands of small outcomes (a 304, a failure, a feed's
entries). One transaction each cost more CPU than the fetches themselves, and
run on the event loop they held up every fetch meanwhile. Writes queue here
instead; one thread runs all those queued by then in one session and one
commit, while the next ones queue.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker

logger = logging.getLogger(__name__)

T = TypeVar("T")
# A write, its arguments after the session, and who awaits its result.
_Queued = tuple[Callable[..., Any], tuple[Any, ...], asyncio.Future[Any]]


class Writer:
    """Runs ``write(session, *args)`` calls in batches; the batch commits."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="storage")
        self._queued: list[_Queued] = []
        self._busy = False

    def close(self) -> None:
        self._thread.shutdown()

    async def write(self, write: Callable[..., T], *args: Any) -> T:
        """The result of ``write(session, *args)`` once its batch committed.

        ``write`` must not commit; what it raises is raised here, and only its
        own changes are lost with it.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queued.append((write, args, future))
        if not self._busy:
            self._start(loop)
        return await future

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        batch, self._queued = self._queued, []
        self._busy = True
        done = self._thread.submit(self._run, batch)
        done.add_done_callback(
            lambda finished: loop.call_soon_threadsafe(
                self._finish, loop, batch, finished
            )
        )

    def _finish(
        self,
        loop: asyncio.AbstractEventLoop,
        batch: list[_Queued],
        finished: Future[list[tuple[bool, Any]]],
    ) -> None:
        self._busy = False
        for (_write, _args, future), (ok, value) in zip(
            batch, finished.result(), strict=True
        ):
            if future.done():
                continue
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)
        if self._queued:
            self._start(loop)

    def _run(self, batch: list[_Queued]) -> list[tuple[bool, Any]]:
        try:
            with self._sessions() as session:
                results = [write(session, *args) for write, args, _future in batch]
                session.commit()
            return [(True, result) for result in results]
        except Exception as error:
            if len(batch) == 1:
                return [(False, error)]
            # One write failed and the batch was rolled back: each is written
            # again alone, so that the others are kept.
            logger.debug("A batch of writes failed; writing them one by one")
            return [self._run([queued])[0] for queued in batch]
