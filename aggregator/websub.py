"""WebSub (W3C Recommendation): subscribing at the hub a feed names.

A feed that names a hub gets a subscription whose callback is the portal's
``/websub/{source_id}``; the hub verifies it there and pushes new content
there (see ``publisher/websub_views.py`` and ``aggregator/push.py``). While
the subscription is active the source is still polled, but rarely.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from aggregator.clock import Clock
from aggregator.crawler import Crawler
from aggregator.errors import FetchError
from aggregator.settings import Settings
from storage.models import WebSubSubscription
from storage.websub import (
    end_subscription,
    find_subscription,
    is_active,
    record_request_failure,
    request_subscription,
    subscriptions_needing_renewal,
)

logger = logging.getLogger(__name__)

# A hub verifies asynchronously (WebSub 5.3); a request still unanswered
# after this long is sent again, and not sooner, so a silent hub is asked a
# few times a day rather than on every poll.
REQUEST_RETRY = timedelta(hours=6)


@dataclass(frozen=True)
class HubLink:
    """The hub a feed names and the topic to subscribe to there."""

    hub_url: str
    topic_url: str

    @classmethod
    def of(cls, hub: str, self_url: str, fetched_url: str) -> HubLink | None:
        """The link a feed names (``hub``, ``self_url``; "" when absent)."""
        # WebSub 4: the rel=self address is the topic, the fetched one only
        # when the feed gives none.
        if not hub:
            return None
        return cls(hub, self_url or fetched_url)


@dataclass(frozen=True)
class SubscriptionRequest:
    """The values of one subscription request, read out of the session."""

    source_id: str
    hub_url: str
    topic_url: str
    secret: str

    @classmethod
    def of(cls, subscription: WebSubSubscription) -> SubscriptionRequest:
        return cls(
            subscription.source_id,
            subscription.hub_url,
            subscription.topic_url,
            subscription.secret,
        )


def callback_url(settings: Settings, source_id: str) -> str:
    return f"{settings.base_url.rstrip('/')}/websub/{source_id}"


async def subscribe(
    crawler: Crawler, settings: Settings, request: SubscriptionRequest
) -> None:
    """Send the hub a subscription request (WebSub 5.1).

    Raises ``FetchError`` when the hub cannot be reached or refuses; a 2xx
    (normally 202 Accepted) only means that the hub will verify our intent.
    """
    # The secret goes to plain-HTTP hubs too, although WebSub 5.1 advises
    # against it: without it no push could be authenticated, and whoever can
    # read that traffic could as well alter the feed the portal polls.
    form = {
        "hub.mode": "subscribe",
        "hub.topic": request.topic_url,
        "hub.callback": callback_url(settings, request.source_id),
        "hub.secret": request.secret,
        "hub.lease_seconds": str(settings.websub_lease_seconds),
    }
    status, body = await crawler.post_form(request.hub_url, form)
    if not 200 <= status < 300:
        answer = body[:300].decode("utf-8", "replace").strip()
        raise FetchError(
            "http_status",
            f"the hub refused the subscription with HTTP {status}: {answer}",
            url=request.hub_url,
            status=status,
        )


def subscribed_interval(
    settings: Settings,
    subscription: WebSubSubscription | None,
    interval: timedelta,
    now: datetime,
) -> timedelta:
    """The poll interval of a source, lengthened while pushes arrive.

    Never shorter than ``interval``, what the source's own hints ask for;
    and polling resumes when a lease runs out unrenewed.
    """
    if not settings.websub_enabled or subscription is None:
        return interval
    if not is_active(subscription, now) or subscription.lease_expires_at is None:
        return interval
    rare = timedelta(hours=settings.websub_poll_hours)
    return max(interval, min(rare, subscription.lease_expires_at - now))


def needs_request(
    subscription: WebSubSubscription | None, link: HubLink, now: datetime
) -> bool:
    """Whether to ask the hub (again) for this source."""
    if subscription is None:
        return True
    if (subscription.hub_url, subscription.topic_url) != (link.hub_url, link.topic_url):
        return True
    if subscription.state == "denied":
        # WebSub 5.2: a denied subscription is not possible any more; only a
        # new hub or topic in the feed is worth asking again.
        return False
    if now - subscription.requested_at < REQUEST_RETRY:
        return False
    if subscription.state == "active":
        return subscription.renew_at is None or subscription.renew_at <= now
    return True


class Subscriptions:
    """The pipeline's side of WebSub: subscribe, renew, lengthen polls."""

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        crawler: Crawler,
        clock: Clock,
    ) -> None:
        self._settings = settings
        self._sessions = sessions
        self._crawler = crawler
        self._clock = clock

    async def follow(self, source_id: str, link: HubLink | None) -> None:
        """Subscribe where a freshly fetched feed names a hub, when needed."""
        if not self._settings.websub_enabled:
            return

        now = self._clock.now()
        with self._sessions() as session:
            subscription = find_subscription(session, source_id)
            if link is None:
                if subscription is not None and subscription.state != "expired":
                    end_subscription(subscription, "the feed no longer names a hub")
                    session.commit()
                return
            if not needs_request(subscription, link, now):
                return
            subscription = request_subscription(
                session,
                source_id,
                link.hub_url,
                link.topic_url,
                self._settings.websub_lease_seconds,
                now,
            )
            request = SubscriptionRequest.of(subscription)
            session.commit()

        await self._send(request)

    async def renew_due(self) -> int:
        """Ask again for every subscription whose renewal time has come.

        Renewing needs no fetch of the feed, so a source polled less often
        than its lease lasts keeps its subscription. Returns how many.
        """
        if not self._settings.websub_enabled:
            return 0

        now = self._clock.now()
        with self._sessions() as session:
            requests = []
            for subscription in subscriptions_needing_renewal(
                session, now, now - REQUEST_RETRY
            ):
                request_subscription(
                    session,
                    subscription.source_id,
                    subscription.hub_url,
                    subscription.topic_url,
                    self._settings.websub_lease_seconds,
                    now,
                )
                requests.append(SubscriptionRequest.of(subscription))
            session.commit()

        await asyncio.gather(*(self._send(request) for request in requests))
        return len(requests)

    def poll_interval(
        self, session: Session, source_id: str, interval: timedelta, now: datetime
    ) -> timedelta:
        if not self._settings.websub_enabled:
            return interval
        subscription = find_subscription(session, source_id)
        return subscribed_interval(self._settings, subscription, interval, now)

    async def _send(self, request: SubscriptionRequest) -> None:
        try:
            await subscribe(self._crawler, self._settings, request)
        except FetchError as error:
            with self._sessions() as session:
                subscription = find_subscription(session, request.source_id)
                if subscription is not None:
                    record_request_failure(subscription, str(error))
                    session.commit()
            logger.warning(
                "WebSub hub did not accept the subscription; the source is "
                "polled as usual",
                extra={
                    "source_id": request.source_id,
                    "url": request.hub_url,
                    "error_kind": error.kind,
                    "error": str(error),
                    "status": error.status,
                },
            )
            return

        logger.debug(
            "WebSub subscription requested",
            extra={
                "source_id": request.source_id,
                "url": request.hub_url,
                "topic": request.topic_url,
            },
        )
