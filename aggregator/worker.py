"""``aggregator worker``: the crawl, dedup, classify and digest stages as jobs
of a queue in PostgreSQL (procrastinate), for any number of machines.

The jobs call the functions ``aggregator run`` calls from APScheduler on
one machine; only the dispatch differs:

- ``tick`` (periodic, every ``AGGREGATOR_TICK_SECONDS``, whichever worker
  comes first, one at a time) renews WebSub leases and queues one
  ``crawl-source`` job per due source;
- ``crawl-source`` fetches, parses and stores one source
  (``Pipeline.crawl_source``). Its lock and queueing lock are the source id:
  one job per source waits in the queue, one runs at a time, and a job that
  finds its source no longer due (another job just crawled it) does nothing;
- ``place-waiting`` and ``classify-waiting`` put new and edited items into
  stories and regions (``Runtime.place_waiting``, ``Runtime.classify_waiting``),
  queued by every crawl that stored something and by every tick;
- ``send-digests`` sends one part of a period's e-mail digests
  (``DigestRun.run``, as ``aggregator run`` does on schedule). Every tick
  looks whether the latest daily and weekly period has subscriptions whose
  digest is not sent and queues a job for each part with some; the parts
  split the subscriptions by id so that several workers send at once. The
  send log (one row per subscription and period, claimed before sending)
  keeps any number of workers and retries to one digest each.

A job that fails on the database (a restart, a dropped connection, a
statement timeout) is tried again with growing waits. A worker that dies
stops its heartbeat; once it has been silent for
``AGGREGATOR_WORKER_STALLED_SECONDS``, the next of the others to look (each
looks every tick) puts its running jobs back into the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
import sqlalchemy.exc
from procrastinate import App, PsycopgConnector, RetryStrategy
from procrastinate.exceptions import (
    AlreadyEnqueued,
    ProcrastinateException,
    UniqueViolation,
)
from procrastinate.job_context import JobContext
from procrastinate.jobs import Job, Status
from procrastinate.tasks import Task
from procrastinate.worker import Worker
from sqlalchemy.engine import make_url

from aggregator.crawler import Crawler
from aggregator.errors import DatabaseError
from aggregator.host_leases import SharedHostLeases
from aggregator.monitoring import HealthCheck, MonitoringServer, database_check
from aggregator.pipeline import Pipeline, SourceRef
from aggregator.runtime import POOL_MIN_SOURCES, Runtime
from aggregator.settings import split_listen_address
from extractors.language import default_detector
from storage.digest_sends import unsent_digests
from storage.queue import queued_sources
from storage.sources import due_source

logger = logging.getLogger(__name__)

CRAWL_SOURCE = "crawl-source"
TICK = "tick"
PLACE_WAITING = "place-waiting"
CLASSIFY_WAITING = "classify-waiting"
SEND_DIGESTS = "send-digests"
DIGEST_FREQUENCIES = ("daily", "weekly")
# The tick goes first: a queue full of crawls must not hold up the next one.
_TICK_PRIORITY = 10
# Errors that pass: the database restarting, a connection cut, a statement
# cancelled by the timeout. Fetch failures are no errors here: the pipeline
# records them on the source and schedules its next try itself.
_TRANSIENT = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    psycopg.OperationalError,
    DatabaseError,
)
RETRY = RetryStrategy(
    max_attempts=6, exponential_wait=2, retry_exceptions=set(_TRANSIENT)
)
# How long a worker that lost the queue's database waits before it starts
# its loop again.
RESTART_SECONDS = 2.0


def queue_conninfo(database_url: str) -> str:
    """The libpq address of the SQLAlchemy URL ``database_url``."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def tick_cron(seconds: int) -> str:
    """A cron line (with procrastinate's sixth column, seconds) for the tick.

    Limitation: the tick runs at whole multiples of its period within the
    minute (or hour), so a period that does not divide 60 has one shorter
    gap each minute (or hour).
    """
    if seconds < 60:
        return f"* * * * * */{seconds}"
    return f"*/{min(seconds // 60, 59)} * * * *"


class CrawlWorker:
    """One worker process: its queue connection, its crawler and its jobs."""

    def __init__(self, runtime: Runtime) -> None:
        settings = runtime.settings
        if not settings.is_postgresql:
            raise DatabaseError(
                "a worker needs PostgreSQL (AGGREGATOR_DATABASE_URL="
                "postgresql+psycopg://...); on SQLite 'aggregator run' does "
                "everything in one process"
            )
        self.runtime = runtime
        self.app = App(connector=self._connector())
        self.worker: Worker | None = None
        self._pipeline: Pipeline | None = None
        self._stopping = False
        # Jobs whose task runs here now, and jobs that looked done but still
        # marked running at the last check.
        self._running: set[int | None] = set()
        self._suspects: set[int | None] = set()
        self._register_tasks()

    def _connector(self) -> PsycopgConnector:
        settings = self.runtime.settings
        options: dict[str, Any] = {"connect_timeout": 10}
        if settings.statement_timeout_seconds:
            milliseconds = int(settings.statement_timeout_seconds * 1000)
            options["options"] = f"-c statement_timeout={milliseconds}"
        return PsycopgConnector(
            conninfo=queue_conninfo(settings.database_url),
            # The heartbeat, the job fetching and the running jobs' own
            # deferrals share these; a heartbeat kept waiting for one would
            # make the worker look dead.
            min_size=2,
            max_size=settings.database_pool_size + 4,
            kwargs=options,
        )

    def _register_tasks(self) -> None:
        app = self.app
        timed = self._timed

        @app.periodic(cron=tick_cron(self.runtime.settings.tick_seconds))
        @app.task(
            name=TICK, queue="crawl", lock=TICK, queueing_lock=TICK,
            priority=_TICK_PRIORITY,
        )  # fmt: skip
        async def tick(timestamp: int) -> int:
            return await timed(TICK, self.tick())

        @app.task(name=CRAWL_SOURCE, queue="crawl", retry=RETRY)
        async def crawl_source(source_id: str) -> str:
            return await timed(CRAWL_SOURCE, self.crawl_source(source_id))

        # No retry for these two: what fails stays waiting in the items
        # table, and the next tick or crawl queues them again. A retry would
        # collide with the job queued meanwhile under the same queueing lock.
        @app.task(
            name=PLACE_WAITING, queue="dedup", lock=PLACE_WAITING,
            queueing_lock=PLACE_WAITING,
        )  # fmt: skip
        async def place_waiting() -> int:
            return await timed(
                PLACE_WAITING, asyncio.to_thread(self.runtime.place_waiting)
            )

        @app.task(
            name=CLASSIFY_WAITING, queue="classify", lock=CLASSIFY_WAITING,
            queueing_lock=CLASSIFY_WAITING,
        )  # fmt: skip
        async def classify_waiting() -> int:
            return await timed(
                CLASSIFY_WAITING, asyncio.to_thread(self.runtime.classify_waiting)
            )

        # A part waits while the same part of the same frequency is sent
        # elsewhere: the tick queues it again whenever it sees digests not yet
        # marked, which includes those a running job holds.
        @app.task(name=SEND_DIGESTS, queue="digest", retry=RETRY)
        async def send_digests(
            frequency: str, period: str, part: int, parts: int
        ) -> str:
            return await timed(
                SEND_DIGESTS, self.send_digests(frequency, period, part, parts)
            )

        self._tasks: dict[str, Task[Any, Any, Any]] = {
            SEND_DIGESTS: send_digests,
            CRAWL_SOURCE: crawl_source,
            PLACE_WAITING: place_waiting,
            CLASSIFY_WAITING: classify_waiting,
        }

    async def _timed(self, task: str, work: Awaitable[Any]) -> Any:
        started = time.monotonic()
        outcome = "error"
        try:
            result = await work
            outcome = "ok"
            return result
        finally:
            self.runtime.metrics.task_seconds.labels(task, outcome).observe(
                time.monotonic() - started
            )

    # The task bodies.

    async def tick(self) -> int:
        """Renew WebSub leases and queue a crawl of every due source that
        has none waiting or running; how many were queued."""
        assert self._pipeline is not None
        await self._pipeline.renew_subscriptions()

        due, queued = await asyncio.to_thread(self._due_and_queued)
        deferred = await self.defer_crawls([each for each in due if each not in queued])
        await self.defer_processing()
        if deferred:
            logger.info("Due sources queued", extra={"sources": deferred})
        await self.defer_digests()
        return deferred

    async def crawl_source(self, source_id: str) -> str:
        """Crawl one source if it is still due; the fetch's outcome."""
        assert self._pipeline is not None
        ref = await asyncio.to_thread(self._due_ref, source_id)
        if ref is None:
            return "not_due"

        record = await self._pipeline.crawl_source(ref)
        self.runtime.metrics.record_fetch(record)
        if record.items_new or record.items_updated:
            await self.defer_processing()
        return record.outcome

    async def send_digests(
        self, frequency: str, period: str, part: int, parts: int
    ) -> str:
        """Send one part of a period's digests; a job queued for a period
        that has since passed does nothing (the tick queued the new one)."""
        return await asyncio.to_thread(
            self._send_digests, frequency, period, part, parts
        )

    def _send_digests(self, frequency: str, period: str, part: int, parts: int) -> str:
        from aggregator.digests import digest_period, digest_run

        settings = self.runtime.settings
        current, _ = digest_period(frequency, self.runtime.clock.now(), settings)
        if current != period:
            return "passed"
        summary = digest_run(self.runtime).run(frequency, part=part, parts=parts)
        return str(summary)

    # Queueing.

    async def defer_crawls(self, source_ids: list[str]) -> int:
        """Queue a crawl of each source, one insert for all; how many were
        queued. A source whose crawl waits already is left out."""
        if not source_ids:
            return 0
        task = self._tasks[CRAWL_SOURCE]
        jobs = [
            task.configure(lock=each, queueing_lock=each).make_new_job(source_id=each)
            for each in source_ids
        ]
        try:
            await self.app.job_manager.batch_defer_jobs_async(jobs)
        except AlreadyEnqueued:
            if len(jobs) == 1:
                return 0
            # One was queued meanwhile (a failed crawl's retry): one at a time.
            return sum([await self.defer_crawls([each]) for each in source_ids])
        return len(jobs)

    async def defer_processing(self) -> None:
        """Queue dedup and the classifiers unless their jobs wait already."""
        for name in (PLACE_WAITING, CLASSIFY_WAITING):
            with contextlib.suppress(AlreadyEnqueued):
                await self._tasks[name].defer_async()

    async def defer_digests(self) -> int:
        """Queue a job for each part of the current daily and weekly period
        that has digests to send; how many were queued.

        Digests carry signed links to unsubscribe, so without a secret key
        none is queued (as ``aggregator run`` sends none).
        """
        if not self.runtime.settings.secret_key:
            return 0
        waiting = await asyncio.to_thread(self._unsent_digests)
        task = self._tasks[SEND_DIGESTS]
        queued = 0
        for frequency, period, part, parts in waiting:
            job = task.configure(
                lock=f"{SEND_DIGESTS}:{frequency}:{part}",
                queueing_lock=f"{SEND_DIGESTS}:{frequency}:{period}:{part}",
            )
            with contextlib.suppress(AlreadyEnqueued):
                await job.defer_async(
                    frequency=frequency, period=period, part=part, parts=parts
                )
                queued += 1
        if queued:
            logger.info("Digests queued", extra={"jobs": queued})
        return queued

    def _unsent_digests(self) -> list[tuple[str, str, int, int]]:
        """(frequency, period, part, parts) of every part with digests to send."""
        from aggregator.digests import digest_period

        settings = self.runtime.settings
        parts = settings.digest_jobs
        now = self.runtime.clock.now()
        waiting = []
        with self.runtime.sessions() as session:
            for frequency in DIGEST_FREQUENCIES:
                period, _ = digest_period(frequency, now, settings)
                unsent = unsent_digests(session, frequency, period, parts)
                waiting += [(frequency, period, part, parts) for part in sorted(unsent)]
        return waiting

    async def retry_stalled_jobs(self) -> int:
        """Put the running jobs of workers silent for too long back in the queue."""
        manager = self.app.job_manager
        stalled = await manager.get_stalled_jobs(
            seconds_since_heartbeat=self.runtime.settings.worker_stalled_seconds
        )
        retried = 0
        for job in stalled:
            if await self._requeue(job):
                retried += 1
                self.runtime.metrics.lease_expiries.inc()
                logger.warning(
                    "Job of a silent worker given to the others",
                    extra={"job_id": job.id, "task": job.task_name, "lock": job.lock},
                )
        return retried

    async def retry_orphaned_jobs(self) -> int:
        """Put back in the queue this worker's jobs that are done but still
        marked running: their outcome was lost with a database connection.

        A job counts once it looked so at two checks in a row, since its
        outcome is written a moment after its task returns.
        """
        worker = self.worker
        if worker is None or worker.worker_id is None:
            return 0
        marked = await self.app.job_manager.list_jobs_async(
            status=Status.DOING.value, worker_id=worker.worker_id
        )
        orphans = {job.id: job for job in marked if job.id not in self._running}
        confirmed = [job for key, job in orphans.items() if key in self._suspects]
        self._suspects = set(orphans) - {job.id for job in confirmed}
        retried = 0
        for job in confirmed:
            if await self._requeue(job):
                retried += 1
                logger.warning(
                    "Job whose outcome was lost queued again",
                    extra={"job_id": job.id, "task": job.task_name, "lock": job.lock},
                )
        return retried

    async def _requeue(self, job: Job) -> bool:
        """Move a job marked running back to the queue; False if it was not."""
        manager = self.app.job_manager
        try:
            await manager.retry_job(job)
        except UniqueViolation:
            # A job with the same queueing lock waits already and will do
            # the work; this one must let go of its lock.
            await manager.finish_job(job, Status.FAILED, delete_job=False)
            logger.info("Job dropped for a newer one", extra={"job_id": job.id})
            return False
        except ProcrastinateException as error:
            # Another worker moved it first.
            logger.debug(
                "Job not queued again", extra={"job_id": job.id, "error": str(error)}
            )
            return False
        return True

    async def _track(
        self, call_next: Callable[[], Awaitable[Any]], context: JobContext, _: Worker
    ) -> Any:
        """Keep the ids of the jobs whose task is running in this worker."""
        job_id = context.job.id
        self._running.add(job_id)
        try:
            return await call_next()
        finally:
            self._running.discard(job_id)

    def _due_and_queued(self) -> tuple[list[str], set[str]]:
        with self.runtime.sessions() as session:
            return self.runtime.due(), queued_sources(session, CRAWL_SOURCE)

    def _due_ref(self, source_id: str) -> SourceRef | None:
        with self.runtime.sessions() as session:
            source = due_source(session, source_id, self.runtime.clock.now())
            return SourceRef.of(source) if source is not None else None

    # Running.

    def health(self) -> tuple[bool, dict[str, Any]]:
        healthy, details = database_check(self.runtime.sessions)()
        worker_id = self.worker.worker_id if self.worker is not None else None
        details["worker_id"] = worker_id
        return healthy and worker_id is not None, details

    def stop(self) -> None:
        """Finish the running jobs, take no more, and return from ``run``."""
        self._stopping = True
        if self.worker is not None:
            self.worker.stop()

    async def run(self) -> None:
        """Take jobs until stopped (SIGINT, SIGTERM, ``stop``); start again
        after a loss of the database."""
        settings = self.runtime.settings
        loop = asyncio.get_running_loop()
        for signal_number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signal_number, self.stop)
        monitoring = self._monitoring(self.health)
        if monitoring is not None:
            monitoring.start()
        # Models are read before the first heartbeat: reading one holds the
        # interpreter for seconds, long enough to look dead, and jobs that
        # met it unread at once would each read it.
        parse_pool = self.runtime.parse_workers(POOL_MIN_SOURCES)
        if parse_pool is None:
            default_detector()
        if "classify" in settings.queues:
            self.runtime.classifiers()
        try:
            shared_hosts = self._shared_hosts()
            async with Crawler(
                settings, robots=self.runtime.robots, shared_hosts=shared_hosts
            ) as crawler:
                self._pipeline = self.runtime.pipeline(crawler, parse_pool)
                try:
                    await self._work_until_stopped()
                finally:
                    self._pipeline.close()
        finally:
            if monitoring is not None:
                monitoring.stop()
            for signal_number in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signal_number)

    def _shared_hosts(self) -> SharedHostLeases | None:
        settings = self.runtime.settings
        if not settings.shared_politeness:
            return None
        # A slot is held for a whole fetch and the wait for its start; a
        # longer lease only delays taking over the slots of a dead worker.
        lease = 2 * settings.fetch_timeout_seconds + settings.host_gap_seconds + 10
        return SharedHostLeases(
            self.runtime.sessions, settings.host_concurrency, lease_seconds=lease
        )

    async def _work_until_stopped(self) -> None:
        settings = self.runtime.settings
        while not self._stopping:
            self.worker = Worker(
                self.app,
                queues=settings.queues,
                name="aggregator",
                concurrency=settings.worker_concurrency,
                fetch_job_polling_interval=settings.worker_poll_seconds,
                update_heartbeat_interval=settings.worker_heartbeat_seconds,
                stalled_worker_timeout=settings.worker_stalled_seconds,
                install_signal_handlers=False,
                worker_middleware=[self._track],
                # A crawl ends within the fetch timeout; past it, a stop
                # cancels the rest and their jobs go back to the queue.
                shutdown_graceful_timeout=settings.fetch_timeout_seconds + 5,
            )
            try:
                async with self.app.open_async():
                    logger.info(
                        "Worker started",
                        extra={
                            "queues": ",".join(settings.queues),
                            "concurrency": settings.worker_concurrency,
                        },
                    )
                    watcher = asyncio.create_task(self._watch_stalled_jobs())
                    try:
                        await self.worker.run()
                    finally:
                        watcher.cancel()
            except Exception as error:
                logger.error(
                    "Worker lost the database; it starts again",
                    extra={"error": str(error), "retry_in_s": RESTART_SECONDS},
                )
            else:
                if self._stopping:
                    break
                # procrastinate stops a worker whose heartbeat or periodic
                # deferrer met a database error, once its jobs are done.
                logger.error(
                    "Worker stopped on a database error; it starts again",
                    extra={"retry_in_s": RESTART_SECONDS},
                )
            await asyncio.sleep(RESTART_SECONDS)
        logger.info("Worker stopped")

    async def _watch_stalled_jobs(self) -> None:
        """Every tick, give the jobs of silent workers to the others, and
        queue again this worker's jobs whose outcome was lost.

        Each worker does it, not a job of the queue: a job could itself be
        held by a dead worker.
        """
        while True:
            await asyncio.sleep(self.runtime.settings.tick_seconds)
            try:
                await self.retry_stalled_jobs()
                await self.retry_orphaned_jobs()
            except Exception as error:
                logger.warning(
                    "Stalled jobs not checked; next tick tries again",
                    extra={"error": str(error)},
                )

    def _monitoring(self, check: HealthCheck) -> MonitoringServer | None:
        listen = self.runtime.settings.worker_listen
        if not listen:
            return None
        host, port = split_listen_address(listen)
        return MonitoringServer(host, port, self.runtime.metrics, check)
