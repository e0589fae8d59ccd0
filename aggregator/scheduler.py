"""The periodic tick that crawls due sources, run by APScheduler in-process."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler

logger = logging.getLogger(__name__)


class CrawlScheduler:
    """One job that looks for due sources every tick; never two runs at once.

    The sources table knows when each source is due, so the scheduler holds no
    state of its own: a restart simply resumes from the database.
    """

    def __init__(
        self,
        crawl: Callable[[], Coroutine[Any, Any, object]],
        tick_seconds: int,
        first_run: datetime | None,
    ) -> None:
        self._crawl = crawl
        self._scheduler = BackgroundScheduler(timezone="UTC")
        self._scheduler.add_job(
            self._tick,
            "interval",
            seconds=tick_seconds,
            id="crawl-due-sources",
            next_run_time=first_run,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=tick_seconds,
        )

    def start(self) -> None:
        self._scheduler.start()

    def shutdown(self) -> None:
        self._scheduler.shutdown(wait=True)

    def _tick(self) -> None:
        try:
            asyncio.run(self._crawl())
        except Exception:
            # The next tick tries again; one failed run must not end the job.
            logger.exception("Crawl run failed; the next tick will try again")
