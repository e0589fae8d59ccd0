"""Everything built once at start-up and handed down: the composition root."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from aggregator.clock import Clock, SystemClock
from aggregator.crawler import Crawler
from aggregator.errors import DatabaseError
from aggregator.metrics import Metrics
from aggregator.parsing import make_parse_pool, start_parse_workers
from aggregator.pipeline import CrawlSummary, Pipeline, Progress
from aggregator.registry import load_registry
from aggregator.robots import RobotsStore
from aggregator.settings import Settings
from storage.database import (
    current_revision,
    head_revision,
    make_engine,
    make_session_factory,
    upgrade_database,
)
from storage.fetches import FetchRecord
from storage.models import Source
from storage.queue import queue_depth
from storage.sources import SyncReport, due_sources, sync_sources

# The stages after a crawl (dedup, classifiers) and the web app are imported
# where they are first used: a process that only crawls (`aggregator crawl`,
# a worker on the crawl queue) would otherwise carry 110 MB of libraries it
# never calls, and the parse workers do the parsing.
if TYPE_CHECKING:
    from fastapi import FastAPI

    from aggregator.classification import Classifiers
    from publisher.context import PortalConfig
    from storage.classification import RegionDecision

logger = logging.getLogger(__name__)

# Starting the parse workers costs about a second of CPU (each reads the
# language model), more than parsing a handful of feeds on threads.
POOL_MIN_SOURCES = 16


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Clock = field(default_factory=SystemClock)
    robots: RobotsStore = field(default_factory=dict)
    # Started by the first crawl and kept until ``close``: a fresh worker
    # reads the language model again before its first entry.
    parse_pool: ProcessPoolExecutor | None = None
    # Built on first use: the region tree takes seconds to load, and the web
    # process of a deployment with separate workers never needs it.
    loaded_classifiers: Classifiers | None = None
    # This process's counters, served at /metrics.
    metrics: Metrics = field(default_factory=Metrics)

    @classmethod
    def build(
        cls,
        settings: Settings,
        clock: Clock | None = None,
        classifiers: Classifiers | None = None,
    ) -> Runtime:
        engine = make_engine(
            settings.database_url,
            settings.database_pool_size,
            settings.statement_timeout_seconds,
        )
        sessions = make_session_factory(engine)

        def read_queue_depth() -> dict[tuple[str, str], int]:
            with sessions() as session:
                return queue_depth(session)

        return cls(
            settings,
            engine,
            sessions,
            clock or SystemClock(),
            loaded_classifiers=classifiers,
            metrics=Metrics(read_queue_depth if settings.is_postgresql else None),
        )

    def classifiers(self) -> Classifiers:
        from aggregator.classification import Classifiers, gazetteer_with_imports

        if self.loaded_classifiers is None:
            with self.sessions() as session:
                gazetteer = gazetteer_with_imports(session)
            self.loaded_classifiers = Classifiers.load(gazetteer)
        return self.loaded_classifiers

    def place_waiting(self) -> int:
        """Stories for every item new or edited since the last run."""
        from aggregator.dedup import place_waiting_items

        placed = self._in_batches(
            lambda session: place_waiting_items(
                session, self.settings, self.clock.now(), batches=1
            )
        )
        self.metrics.record_items("placed", placed)
        if placed:
            logger.info("Items placed in stories", extra={"items": placed})
        return placed

    def classify_waiting(self) -> int:
        """Regions and topics for every item new or edited since the last run."""
        from aggregator.classification import classify_waiting_items

        classifiers = self.classifiers()
        done = self._in_batches(
            lambda session: classify_waiting_items(
                session, classifiers, self.clock.now(), batches=1
            )
        )
        self.metrics.record_items("classified", done)
        if done:
            logger.info("Items classified", extra={"items": done})
        return done

    def _in_batches(self, work: Callable[[Session], int]) -> int:
        """Run ``work`` in one transaction after another until it does
        nothing; the sum of what it did.

        A commit after each batch keeps what is done when a later batch
        fails, and lets other workers' placers and classifiers take their
        turn between batches.
        """
        total = 0
        while True:
            with self.sessions() as session:
                done = work(session)
                session.commit()
            if not done:
                return total
            total += done

    def close(self) -> None:
        if self.parse_pool is not None:
            self.parse_pool.shutdown(cancel_futures=True)
        self.engine.dispose()

    def upgrade(self) -> None:
        try:
            upgrade_database(self.engine)
        except OperationalError as error:
            raise DatabaseError(
                f"cannot upgrade the database at {self.engine.url!r}: {error.orig}"
            ) from error

    def require_schema(self) -> None:
        """Refuse to start on a database that ``db upgrade`` has not brought up."""
        try:
            revision = current_revision(self.engine)
        except OperationalError as error:
            raise DatabaseError(
                f"cannot reach the database at {self.engine.url!r}: {error.orig}"
            ) from error
        if revision != head_revision():
            raise DatabaseError(
                f"the database is at revision {revision or 'none'}, the code needs "
                f"{head_revision()}: run 'aggregator db upgrade'"
            )

    def sync_sources(self, path: Path | None = None) -> SyncReport:
        """Make the sources table match the registry; all or nothing."""
        specs = load_registry(path or self.settings.sources_file)
        with self.sessions() as session:
            report = sync_sources(
                session, [spec.model_dump() for spec in specs], self.clock.now()
            )
            session.commit()
        logger.info(
            "Sources synced",
            extra={
                "added": len(report.added),
                "updated": len(report.updated),
                "retired": len(report.retired),
                "unchanged": len(report.unchanged),
            },
        )
        return report

    def make_all_due(self) -> None:
        with self.sessions() as session:
            session.execute(
                update(Source)
                .where(Source.state == "active", Source.paused_at.is_(None))
                .values(next_fetch_at=self.clock.now())
            )
            session.commit()

    async def crawl(
        self, progress: Progress | None = None, process: bool = True
    ) -> CrawlSummary:
        """One crawl of the due sources, with a connection pool of its own.

        robots.txt rules outlive the crawl: they are kept for the settings'
        lifetime across crawls, as RFC 9309 allows.
        """
        parse_pool = self.parse_workers(len(self.due()))

        def counted(record: FetchRecord) -> None:
            self.metrics.record_fetch(record)
            if progress is not None:
                progress(record)

        async with Crawler(self.settings, robots=self.robots) as crawler:
            pipeline = self.pipeline(crawler, parse_pool)
            try:
                summary = await pipeline.crawl_due(counted)
            finally:
                pipeline.close()
        # After the crawl, not inside it: the fetches of thousands of sources
        # are not held up by dedup and the classifiers, which read each new
        # item once.
        if process:
            summary.placed_items = await asyncio.to_thread(self.place_waiting)
            summary.classified_items = await asyncio.to_thread(self.classify_waiting)
        return summary

    def pipeline(
        self, crawler: Crawler, parse_pool: ProcessPoolExecutor | None
    ) -> Pipeline:
        return Pipeline(
            self.settings, self.sessions, crawler, self.clock, parse_pool=parse_pool
        )

    def parse_workers(self, sources: int) -> ProcessPoolExecutor | None:
        """The parse workers, started by the first crawl of at least
        ``POOL_MIN_SOURCES`` sources and replaced when one died."""
        if self.parse_pool is not None:
            try:
                # A pool whose worker died (killed, or crashed in a parser) is
                # broken for good and refuses new work at once.
                self.parse_pool.submit(int)
            except BrokenProcessPool:
                logger.error("A parse worker died; the workers are started again")
                self.parse_pool.shutdown(cancel_futures=True)
                self.parse_pool = None
        workers = self.settings.parse_workers
        if self.parse_pool is None and workers > 0 and sources >= POOL_MIN_SOURCES:
            self.parse_pool = make_parse_pool(workers)
            assert self.parse_pool is not None
            start_parse_workers(self.parse_pool, workers)
        return self.parse_pool

    def portal_config(self) -> PortalConfig:
        from classifiers.taxonomy import load_topics
        from extractors.language import EU_LANGUAGES
        from publisher.context import PortalConfig
        from publisher.registrations import RegistrationPolicy

        return PortalConfig(
            base_url=self.settings.base_url,
            max_push_bytes=self.settings.max_body_bytes,
            login_failures_to_lock=self.settings.login_failures_to_lock,
            login_lock_minutes=self.settings.login_lock_minutes,
            editor_session_hours=self.settings.editor_session_hours,
            feed_max_age=self.settings.feed_max_age,
            page_max_age=self.settings.page_max_age,
            response_cache_entries=self.settings.response_cache_entries,
            mail_from=self.settings.sender,
            registration=RegistrationPolicy(
                secret_key=self.settings.secret_key,
                link_hours=self.settings.registration_link_hours,
                per_address_hour=self.settings.registrations_per_address_hour,
                per_network_hour=self.settings.registrations_per_network_hour,
                per_domain=self.settings.registrations_per_domain,
            ),
            topic_labels={topic.slug: topic.labels for topic in load_topics()},
            news_languages=tuple(sorted(EU_LANGUAGES)),
        )

    def web_app(self) -> FastAPI:
        from aggregator.monitoring import add_monitoring_routes, database_check
        from aggregator.push import PushIngest
        from aggregator.registration_preview import SourcePreviewer
        from aggregator.smtp import mail_sender
        from aggregator.subscription_mail import subscription_mail
        from publisher.app import create_app

        on_push = None
        if self.settings.websub_enabled:
            on_push = PushIngest(self.settings, self.sessions, self.clock)
        app = create_app(
            self.portal_config(),
            self.sessions,
            on_push,
            self.clock.now,
            regions=self.editor_regions,
            subscription_mail=subscription_mail(self.settings),
            preview_source=SourcePreviewer(self.settings, self.robots),
            send_mail=mail_sender(self.settings),
        )
        add_monitoring_routes(app, self.metrics, database_check(self.sessions))
        return app

    def editor_regions(self, codes: Sequence[str], editor: str) -> list[RegionDecision]:
        """An editor's region codes checked against the tree, with ancestors."""
        from aggregator.classification import editor_region_decisions

        return editor_region_decisions(self.classifiers(), codes, editor)

    def due(self) -> list[str]:
        """Ids of the sources a crawl now would fetch."""
        with self.sessions() as session:
            return [source.id for source in due_sources(session, self.clock.now())]
