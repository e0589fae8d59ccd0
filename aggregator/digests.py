"""A digest run: every active subscription of one frequency gets the stories
new since its last digest, once per period.

Exactly once, as far as SMTP allows: each subscription's digest of a period
is claimed in the send log (a unique row, with a lease) before it is sent
and marked after, one commit per message. A run that dies leaves claimed,
unsent rows; once their lease has passed, the next run takes them over and
sends only those. Several workers running the same schedule claim disjoint
rows, so they share the work instead of doubling it.

# Limitation: a run killed after the mail server accepted a message and
# before the mark was committed (a millisecond or so per message) leaves
# that digest claimed, and it is sent again after the lease; SMTP gives no
# way to ask whether a message arrived. It carries the same Message-ID both
# times, which lets some mail programs hide the second copy.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from aggregator.clock import Clock
from aggregator.errors import DigestError, MailServerUnavailable
from aggregator.mailer import (
    Mailer,
    SmtpServer,
    local_domain,
    mailer_from_settings,
)
from aggregator.runtime import Runtime
from aggregator.settings import Settings
from aggregator.subscription_mail import subscription_links
from classifiers.taxonomy import load_topics
from publisher.digests import (
    OTHER_NEWS,
    DigestLinks,
    RenderedDigest,
    digest_message,
    group_digest,
    render_digest,
)
from publisher.i18n import Catalogues
from publisher.mails import MailTemplates, OutgoingMail
from publisher.subscription_links import Purpose
from storage.digest_sends import (
    EMPTY,
    FAILED,
    SENT,
    Outcome,
    claim_digests,
    finish_digests,
    finished_subscriptions,
    record_refusal,
    release_claims,
)
from storage.digest_stories import (
    StoryIndex,
    digest_cutoff,
    load_story_cards,
)
from storage.models import Region
from storage.subscriptions import Subscriber, active_subscribers, forget_unconfirmed

logger = logging.getLogger(__name__)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# The most a digest looks back: after an outage or a pause a reader gets the
# recent news, not weeks of it.
LONGEST_WINDOW = {"daily": timedelta(days=3), "weekly": timedelta(days=10)}
BATCH = 200
RENDERED_KEPT = 2000
DEFERRED, PAUSED = "deferred", "paused"


@dataclass
class DigestRunSummary:
    frequency: str
    period: str
    subscriptions: int = 0
    sent: int = 0
    empty: int = 0
    failed: int = 0
    paused: int = 0
    # Held by another run (a live worker, or one that died within its lease).
    held_elsewhere: int = 0
    # Claimed but given back because the mail server stayed unavailable.
    deferred: int = 0
    dry_run: bool = False
    elapsed_s: float = 0.0
    errors: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        verb = "would send" if self.dry_run else "sent"
        return (
            f"{self.frequency} digests of {self.period}: {self.subscriptions} "
            f"subscriptions, {self.sent} {verb}, {self.empty} with nothing new, "
            f"{self.failed} refused, {self.paused} paused, {self.held_elsewhere} "
            f"held by another run, {self.deferred} deferred, "
            f"{self.elapsed_s:.1f} s"
        )


def digest_period(
    frequency: str, now: datetime, settings: Settings
) -> tuple[str, datetime]:
    """The period whose digest is due at ``now``, and when it was scheduled:
    the latest daily time (or weekly day and time) that has passed."""
    zone = ZoneInfo(settings.digest_timezone)
    hour, minute = (int(part) for part in settings.digest_daily_time.split(":"))
    local = now.astimezone(zone)
    slot = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if slot > local:
        slot -= timedelta(days=1)
    if frequency == "daily":
        return slot.date().isoformat(), slot
    if frequency != "weekly":
        raise DigestError(f"no digest frequency {frequency!r}; daily or weekly")
    back = (slot.weekday() - WEEKDAYS.index(settings.digest_weekly_day)) % 7
    slot -= timedelta(days=back)
    year, week, _ = slot.isocalendar()
    return f"{year}-W{week:02d}", slot


class DigestRun:
    """Sends one frequency's digests for the current period."""

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        templates: MailTemplates,
        topic_labels: dict[str, dict[str, str]],
        clock: Clock,
        make_mailer: Callable[[], Mailer],
        on_finish: Callable[[DigestRunSummary], None] | None = None,
    ) -> None:
        self.settings = settings
        # Told what a run (not a dry one) did, even one the mail server cut
        # short: the process's counters of digests sent.
        self.on_finish = on_finish
        self.sessions = sessions
        self.templates = templates
        self.topic_labels = topic_labels
        self.clock = clock
        self.make_mailer = make_mailer
        self.links = subscription_links(settings)
        self.token = secrets.token_hex(16)
        # The most recently used digests; a run of a hundred thousand readers
        # has tens of thousands of distinct ones, too many to keep them all.
        self._rendered: OrderedDict[tuple[object, ...], RenderedDigest] = OrderedDict()

    def run(
        self, frequency: str, dry_run: bool = False, part: int = 0, parts: int = 1
    ) -> DigestRunSummary:
        """Send the period's digests not sent yet; with ``parts`` above one,
        only those of the subscriptions whose id falls in ``part``, so that
        several workers can share a period."""
        if not self.links.enabled:
            raise DigestError(
                "AGGREGATOR_SECRET_KEY is not set: digests carry signed links to "
                "unsubscribe, so none can be sent without it"
            )
        started = time.monotonic()
        now = self.clock.now()
        period, _slot = digest_period(frequency, now, self.settings)
        summary = DigestRunSummary(frequency, period, dry_run=dry_run)

        with self.sessions() as session:
            forget_unconfirmed(
                session, now - timedelta(hours=self.settings.confirmation_link_hours)
            )
            session.commit()
            cutoff = digest_cutoff(session, now)
            done = finished_subscriptions(session, period)
            # Limitation: the subscriptions are read once at the start, so one
            # paused or ended while a long run is under way still gets its
            # digest of that run.
            todo = [
                s
                for s in active_subscribers(session, frequency)
                if s.id not in done and s.id % parts == part
            ]
            floor = cutoff - LONGEST_WINDOW[frequency]
            start = min((_since(s, floor) for s in todo), default=cutoff)
            index = StoryIndex(load_story_cards(session, start, cutoff))
            names = _region_names(session, {code for s in todo for code in s.regions})
        summary.subscriptions = len(todo)
        logger.info(
            "Digest run started",
            extra={
                "frequency": frequency, "period": period, "subscriptions": len(todo),
                "stories": len(index.cards), "cutoff": cutoff.isoformat(),
            },
        )  # fmt: skip

        domain = local_domain(self.settings.sender)
        context = _RunContext(
            frequency, period, cutoff, floor, index, names, now, domain
        )
        if dry_run:
            for subscriber in todo:
                message = self._compose(subscriber, context)
                if message is None:
                    summary.empty += 1
                else:
                    summary.sent += 1
        else:
            try:
                with self._senders() as send:
                    # While one batch is being sent, the next is claimed and
                    # composed.
                    waiting: list[Future[str]] = []
                    for batch in _batches(todo, BATCH):
                        submitted = self._send_batch(batch, context, send, summary)
                        _tally(waiting, summary)
                        waiting = submitted
                        if summary.deferred:
                            break
                    _tally(waiting, summary)
            finally:
                if self.on_finish is not None:
                    self.on_finish(summary)
            if summary.deferred:
                raise MailServerUnavailable(
                    f"the mail server deferred or dropped {summary.deferred} digests "
                    f"after every try; {summary.sent} were sent, the next run sends "
                    "the rest"
                )
        summary.elapsed_s = time.monotonic() - started
        logger.info("Digest run finished", extra={"summary": str(summary)})
        return summary

    def _send_batch(
        self,
        batch: Sequence[Subscriber],
        context: _RunContext,
        send: Sender,
        summary: DigestRunSummary,
    ) -> list[Future[str]]:
        """Claim a batch, record those with nothing new, and hand the others
        to the senders; returns what the senders will say of each."""
        lease = timedelta(seconds=self.settings.digest_lease_seconds)
        with self.sessions() as session:
            held = set(
                claim_digests(
                    session,
                    [s.id for s in batch],
                    context.period,
                    self.token,
                    self.clock.now(),
                    lease,
                )
            )
            session.commit()
        summary.held_elsewhere += len(batch) - len(held)

        outcomes: list[Future[str]] = []
        empty: list[Outcome] = []
        for subscriber in batch:
            if subscriber.id not in held:
                continue
            composed = self._compose(subscriber, context)
            if composed is None:
                empty.append(Outcome(subscriber.id, EMPTY))
                continue
            message, stories = composed
            outcomes.append(send(subscriber.id, message, stories, context))
        with self.sessions() as session:
            self._record(session, empty, context)
        summary.empty += len(empty)

        return outcomes

    def _deliver(
        self,
        mailer: Mailer,
        subscription_id: int,
        message: OutgoingMail,
        stories: int,
        context: _RunContext,
        stop: threading.Event,
    ) -> str:
        """Send one digest and mark it at once, in the sending thread: the
        time between the server's acceptance and the mark is what a crash
        can turn into a second copy, so it is kept to one commit."""
        delivery = (
            None
            if stop.is_set()
            else mailer.send_bytes(message.sender, message.recipients, message.data)
        )
        with self.sessions() as session:
            if delivery is not None and delivery.sent:
                sent = Outcome(subscription_id, SENT, stories, message.message_id)
                self._record(session, [sent], context)
                return SENT
            if delivery is None or delivery.outcome == "temporary":
                # The server is unavailable: the rest of the run waits for
                # the next one rather than for every message's retries.
                stop.set()
                release_claims(session, [subscription_id], context.period, self.token)
                session.commit()
                return DEFERRED
            error = f"{delivery.code} {delivery.error}"
            failed = Outcome(subscription_id, FAILED, error=error)
            self._record(session, [failed], context)
            paused = record_refusal(
                session, subscription_id, error, self.clock.now(),
                self.settings.digest_failures_to_pause,
            )  # fmt: skip
            session.commit()
        if paused:
            logger.warning(
                "Subscription paused after repeated refusals",
                extra={"subscription_id": subscription_id, "error": error},
            )
            return PAUSED
        return FAILED

    def _record(
        self, session: Session, outcomes: list[Outcome], context: _RunContext
    ) -> None:
        held = finish_digests(
            session, outcomes, context.period, self.token, self.clock.now(),
            context.cutoff,
        )  # fmt: skip
        if held < len(outcomes):
            logger.error(
                "Digest claims lost before they were marked; they may go out twice",
                extra={"lost": len(outcomes) - held, "period": context.period},
            )
        session.commit()

    def _compose(
        self, subscriber: Subscriber, context: _RunContext
    ) -> tuple[OutgoingMail, int] | None:
        since = _since(subscriber, context.floor)
        cards = context.index.matching(
            subscriber.regions, subscriber.topics, subscriber.languages, since
        )
        if not cards:
            return None
        key = (
            subscriber.locale, subscriber.regions, subscriber.topics,
            subscriber.languages, tuple(card.story_id for card in cards),
        )  # fmt: skip
        rendered = self._rendered.get(key)
        if rendered is not None:
            self._rendered.move_to_end(key)
        if rendered is None:
            digest = group_digest(
                cards,
                locale=subscriber.locale,
                frequency=context.frequency,
                regions=subscriber.regions,
                topics=subscriber.topics,
                languages=subscriber.languages,
                region_names=context.region_names,
                topic_labels=self.topic_labels,
                other_news=self.templates.gettext(subscriber.locale, OTHER_NEWS),
                max_stories=self.settings.digest_max_stories,
            )
            rendered = render_digest(self.templates, digest, self.settings.base_url)
            self._rendered[key] = rendered
            if len(self._rendered) > RENDERED_KEPT:
                self._rendered.popitem(last=False)

        def link(purpose: Purpose) -> str:
            return self.links.url(
                purpose, subscriber.id, subscriber.nonce, subscriber.locale, context.now
            )

        # The same Message-ID for the same digest, however often it is sent.
        message_id = f"<digest.{subscriber.id}.{context.period}@{context.domain}>"
        message = digest_message(
            rendered,
            sender=self.settings.sender,
            to=subscriber.email,
            links=DigestLinks(
                link("manage"),
                link("unsubscribe"),
                self.settings.digest_unsubscribe_mailto,
            ),
            message_id=message_id,
            now=context.now,
        )
        return message, rendered.stories

    @contextmanager
    def _senders(self) -> Iterator[Sender]:
        """Sending over ``smtp_connections`` connections, one per thread."""
        local = threading.local()
        mailers: list[Mailer] = []
        lock = threading.Lock()
        stop = threading.Event()

        def deliver(
            subscription_id: int, message: OutgoingMail, stories: int,
            context: _RunContext,
        ) -> str:  # fmt: skip
            mailer = getattr(local, "mailer", None)
            if mailer is None:
                mailer = local.mailer = self.make_mailer()
                with lock:
                    mailers.append(mailer)
            return self._deliver(
                mailer, subscription_id, message, stories, context, stop
            )

        with ThreadPoolExecutor(self.settings.smtp_connections) as pool:
            try:
                yield lambda *job: pool.submit(deliver, *job)
            finally:
                pool.shutdown(wait=True)
                for mailer in mailers:
                    mailer.close()


Sender = Callable[[int, OutgoingMail, int, "_RunContext"], Future[str]]


@dataclass(frozen=True)
class _RunContext:
    frequency: str
    period: str
    cutoff: datetime
    # The earliest a story may have been stored to be in a digest of the run.
    floor: datetime
    index: StoryIndex
    region_names: dict[str, str]
    now: datetime
    # Where the run's Message-IDs are made.
    domain: str


def _tally(outcomes: list[Future[str]], summary: DigestRunSummary) -> None:
    for future in outcomes:
        outcome = future.result()
        if outcome == SENT:
            summary.sent += 1
        elif outcome == DEFERRED:
            summary.deferred += 1
        else:
            summary.failed += 1
            summary.paused += outcome == PAUSED


def _since(subscriber: Subscriber, floor: datetime) -> datetime:
    return max(subscriber.since, floor) if subscriber.since else floor


def _region_names(session: Session, codes: set[str]) -> dict[str, str]:
    names: dict[str, str] = {}
    ordered = sorted(codes)
    for start in range(0, len(ordered), 2000):
        chunk = ordered[start : start + 2000]
        query = select(Region.code, Region.name).where(Region.code.in_(chunk))
        names.update((code, name) for code, name in session.execute(query))
    return names


def _batches(values: Sequence[Subscriber], size: int) -> Iterator[Sequence[Subscriber]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def digest_run(runtime: Runtime) -> DigestRun:
    """A digest run with the runtime's settings, database, clock and catalogues."""
    settings = runtime.settings
    SmtpServer.from_url(settings.smtp_url)  # a bad URL fails before any claim
    templates = MailTemplates(Catalogues.load(), settings.digest_timezone)
    labels = {topic.slug: dict(topic.labels) for topic in load_topics()}
    return DigestRun(
        settings,
        runtime.sessions,
        templates,
        labels,
        runtime.clock,
        lambda: mailer_from_settings(settings),
        runtime.metrics.record_digests,
    )
