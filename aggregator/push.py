"""Content a WebSub hub pushed, stored exactly as a crawl stores a fetch.

The portal's callback checks the signature and hands the body here; this
module is what the conductor passes to ``create_app`` as ``on_push``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from aggregator.clock import Clock
from aggregator.crawler import FetchResult
from aggregator.dedup import assign_stories
from aggregator.pipeline import SourceRef, extract_entries
from aggregator.settings import Settings
from aggregator.websub import subscribed_interval
from extractors.errors import ExtractionError
from storage.fetches import FetchRecord
from storage.items import save_entries
from storage.models import Source
from storage.websub import find_subscription, record_push

logger = logging.getLogger(__name__)


class PushIngest:
    """Stores pushed feed content of a source; called once per valid push."""

    def __init__(
        self, settings: Settings, sessions: sessionmaker[Session], clock: Clock
    ) -> None:
        self._settings = settings
        self._sessions = sessions
        self._clock = clock

    def __call__(self, source_id: str, body: bytes, headers: Mapping[str, str]) -> None:
        started_at = self._clock.now()
        started = time.monotonic()
        with self._sessions() as session:
            source = session.get(Source, source_id)
            subscription = find_subscription(session, source_id)
            if source is None or subscription is None or source.state != "active":
                logger.warning(
                    "WebSub push for a source that is not crawled was ignored",
                    extra={"source_id": source_id},
                )
                return
            ref = SourceRef.of(source)
            topic = subscription.topic_url

            # The pushed body is the topic's new content (WebSub 7), so it is
            # read as if fetched from the topic's address.
            pushed = FetchResult(topic, 200, dict(headers), body, elapsed_ms=0)
            try:
                entries, _ttl, _hub = extract_entries(ref, pushed)
            except ExtractionError as error:
                record = FetchRecord(
                    source_id, topic, started_at, _elapsed_ms(started), "push",
                    error_kind=error.kind, error=str(error),
                )  # fmt: skip
                record_push(session, subscription, record, None)
                session.commit()
                logger.warning(
                    "WebSub push held no readable feed; nothing was stored",
                    extra={"source_id": source_id, "url": topic, "error": str(error)},
                )
                return

            saved = save_entries(
                session, source_id, entries, self._clock.now(), not ref.fetched_before
            )
            assign_stories(session, source_id, self._settings, self._clock.now())
            record = FetchRecord(
                source_id, topic, started_at, _elapsed_ms(started), "push",
                entries_found=len(entries), items_new=saved.new,
                items_updated=saved.updated,
            )  # fmt: skip
            # Fresh content just arrived: the next poll can wait as long as
            # the subscription lets it.
            now = self._clock.now()
            wait = subscribed_interval(self._settings, subscription, timedelta(0), now)
            record_push(session, subscription, record, now + wait if wait else None)
            session.commit()

        logger.debug(
            "WebSub push stored",
            extra={
                "source_id": source_id,
                "url": topic,
                "items_new": saved.new,
                "items_updated": saved.updated,
            },
        )


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
