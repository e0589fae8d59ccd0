"""When digests go out: daily at a local time, weekly on a day at that time,
run by APScheduler in-process, and once at start to catch up a missed run."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from aggregator.settings import Settings

logger = logging.getLogger(__name__)


class DigestScheduler:
    """Two cron jobs and a catch-up at start.

    The send log knows which digests of the current period went out, so the
    scheduler keeps no state: the run at start sends what a stop made it
    miss (the latest period only; its window reaches back to each
    subscription's last digest) and sends nothing twice.
    """

    def __init__(
        self,
        send: Callable[[str], object],
        settings: Settings,
        start_at: datetime | None = None,
    ) -> None:
        self._send = send
        zone = ZoneInfo(settings.digest_timezone)
        hour, minute = (int(part) for part in settings.digest_daily_time.split(":"))
        self._scheduler = BackgroundScheduler(timezone=zone)
        jobs = {
            "daily": CronTrigger(hour=hour, minute=minute, timezone=zone),
            "weekly": CronTrigger(
                day_of_week=settings.digest_weekly_day,
                hour=hour,
                minute=minute,
                timezone=zone,
            ),
        }
        for frequency, trigger in jobs.items():
            self._scheduler.add_job(
                self._run, trigger, args=[frequency], id=f"digest-{frequency}",
                max_instances=1, coalesce=True, misfire_grace_time=6 * 3600,
            )  # fmt: skip
        if start_at is not None:
            self._scheduler.add_job(
                self._catch_up, "date", run_date=start_at, id="digest-catch-up"
            )

    def next_runs(self) -> dict[str, datetime]:
        return {
            job.id: job.next_run_time
            for job in self._scheduler.get_jobs()
            if job.next_run_time is not None
        }

    def start(self) -> None:
        self._scheduler.start()

    def shutdown(self) -> None:
        self._scheduler.shutdown(wait=True)

    def _catch_up(self) -> None:
        for frequency in ("daily", "weekly"):
            self._run(frequency)

    def _run(self, frequency: str) -> None:
        try:
            self._send(frequency)
        except Exception:
            # The next run, or the catch-up at the next start, sends what
            # this one could not.
            logger.exception(
                "Digest run failed; the next run sends what is left",
                extra={"frequency": frequency},
            )
