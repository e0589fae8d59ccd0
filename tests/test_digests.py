"""Digests delivered to a real SMTP server on 127.0.0.1 and read back: their
stories, parts and headers, once per period whatever fails on the way."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from aggregator.digests import DigestRun, digest_period, digest_run
from aggregator.errors import MailServerUnavailable
from aggregator.runtime import Runtime
from aggregator.settings import Settings
from extractors.entry import Entry
from storage.items import save_entries
from storage.models import DigestSend, Subscription
from storage.sources import sync_sources
from storage.subscriptions import (
    Preferences,
    confirm_subscription,
    normalise_address,
    request_subscription,
)
from tests.mailbox import Mailbox, MailServer

# A Thursday, 09:00 in Brussels: the daily digest of the day is due.
NOW = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
SOURCES = [
    {"id": "wien", "name": "Stadt Wien", "kind": "feed",
     "url": "https://wien.example/rss", "publisher": "municipality",
     "country": "AT", "region": "AT130", "languages": ["de"]},
    {"id": "lyon", "name": "Ville de Lyon", "kind": "feed",
     "url": "https://lyon.example/rss", "publisher": "municipality",
     "country": "FR", "region": "FRK26", "languages": ["fr"]},
]  # fmt: skip


class Clock:
    def __init__(self, now: datetime) -> None:
        self.moment = now

    def now(self) -> datetime:
        return self.moment


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with MailServer() as box:
        yield box


@pytest.fixture
def portal(settings: Settings, classifiers, mailbox: Mailbox) -> Iterator[Runtime]:
    """A runtime whose clock the test sets, two sources' news stored, placed
    and classified an hour before NOW."""
    settings = settings.model_copy(
        update={
            "secret_key": "test-secret", "smtp_url": mailbox.url,
            "smtp_retry_seconds": 0.01, "mail_from": "News <news@portal.test>",
        }
    )  # fmt: skip
    clock = Clock(NOW - timedelta(days=1))
    runtime = Runtime.build(settings, clock=clock, classifiers=classifiers)
    runtime.upgrade()
    with runtime.sessions() as session:
        sync_sources(session, SOURCES, clock.now())
        session.commit()
    yield runtime
    runtime.close()


def _subscribe(
    runtime: Runtime, email: str, regions: tuple[str, ...], locale: str = "en", **more
) -> int:
    with runtime.sessions() as session:
        pending = request_subscription(
            session,
            normalise_address(email),
            Preferences(regions, locale=locale, **more),
            "yes",
            runtime.clock.now(),
        )
        assert pending is not None
        subscription = confirm_subscription(session, pending, runtime.clock.now())
        session.commit()
        return subscription.id


def _news(runtime: Runtime, moment: datetime) -> None:
    with runtime.sessions() as session:
        save_entries(session, "wien", [
            Entry(title="Neue Straßenbahnlinie in Favoriten",
                  link="https://wien.example/de/tram",
                  summary="Die Wiener Linien bauen eine neue Straßenbahnlinie "
                  "nach Favoriten; der Bau beginnt im Frühjahr.",
                  language="de", published=moment - timedelta(hours=1)),
            Entry(title="Tram line to Favoriten", link="https://wien.example/en/tram",
                  summary="Wiener Linien are building a new tram line.",
                  language="en", published=moment - timedelta(minutes=50)),
        ], moment)  # fmt: skip
        save_entries(session, "lyon", [
            Entry(title="Nouvelle piste cyclable sur les quais",
                  link="https://lyon.example/velo",
                  summary="La Ville de Lyon ouvre une piste cyclable.",
                  language="fr", published=moment - timedelta(hours=2)),
        ], moment)  # fmt: skip
        session.commit()
    runtime.place_waiting()
    runtime.classify_waiting()


def _readers_with_news(runtime: Runtime, count: int) -> list[str]:
    """``count`` readers of Austria, then the day's news an hour before NOW;
    the clock ends at NOW."""
    addresses = [f"reader{n}@example.org" for n in range(count)]
    for address in addresses:
        _subscribe(runtime, address, ("AT",))
    runtime.clock.moment = NOW - timedelta(hours=1)
    _news(runtime, NOW - timedelta(hours=1))
    runtime.clock.moment = NOW
    return addresses


def _run(runtime: Runtime, frequency: str = "daily"):
    return digest_run(runtime).run(frequency)


def test_period_is_the_latest_scheduled_time_that_has_passed():
    settings = Settings(digest_daily_time="07:00", digest_weekly_day="mon")
    brussels_6am = datetime(2026, 12, 3, 5, 0, tzinfo=UTC)
    brussels_8am = datetime(2026, 12, 3, 7, 0, tzinfo=UTC)

    assert digest_period("daily", brussels_6am, settings)[0] == "2026-12-02"
    assert digest_period("daily", brussels_8am, settings)[0] == "2026-12-03"
    assert digest_period("weekly", brussels_8am, settings)[0] == "2026-W49"
    monday_6am = datetime(2026, 11, 30, 5, 0, tzinfo=UTC)
    assert digest_period("weekly", monday_6am, settings)[0] == "2026-W48"


def test_digest_holds_new_stories_by_region_in_both_parts_with_headers(portal, mailbox):
    vienna = _subscribe(portal, "reader@example.org", ("AT",), locale="de")
    _subscribe(portal, "Lecteur@Example.ORG", ("FRK26", "AT130"), locale="fr")
    _subscribe(portal, "quiet@example.org", ("PL",))
    portal.clock.moment = NOW - timedelta(hours=1)
    _news(portal, NOW - timedelta(hours=1))
    portal.clock.moment = NOW

    summary = _run(portal)

    assert (summary.sent, summary.empty, summary.failed) == (2, 1, 0)
    assert sorted(mailbox.recipients) == ["lecteur@example.org", "reader@example.org"]
    german = mailbox.to("reader@example.org")[0]
    assert german["Subject"] == "Ihre täglichen Nachrichten: 1 neue Meldung"
    assert german["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = german["List-Unsubscribe"].strip().strip("<>")
    assert unsubscribe.startswith(
        f"http://portal.test/de/subscriptions/unsubscribe/{vienna}."
    )
    assert german["Message-ID"] == f"<digest.{vienna}.2026-12-03@portal.test>"
    text = german.get_body(("plain",)).get_content()
    html = german.get_body(("html",)).get_content()
    # The story's German version, not its English one, for a German reader.
    assert "Neue Straßenbahnlinie in Favoriten" in text
    assert "Tram line" not in text
    assert "https://wien.example/de/tram" in html
    assert unsubscribe in text and unsubscribe in html

    french = mailbox.to("lecteur@example.org")[0]
    body = french.get_body(("plain",)).get_content()
    # Lyon's region first, as subscribed; Vienna's story under its region.
    assert body.index("Nouvelle piste cyclable") < body.index("Straßenbahnlinie")
    assert french["Subject"].startswith("Vos actualités du jour : 2 ")


def test_a_second_run_of_the_period_sends_nothing_and_the_next_only_news(
    portal, mailbox
):
    _subscribe(portal, "reader@example.org", ("AT",))
    portal.clock.moment = NOW - timedelta(hours=1)
    _news(portal, NOW - timedelta(hours=1))
    portal.clock.moment = NOW

    first = _run(portal)
    again = _run(portal)
    portal.clock.moment = NOW + timedelta(days=1)
    nothing_new = _run(portal)

    assert (first.sent, again.subscriptions, again.sent) == (1, 0, 0)
    assert (nothing_new.sent, nothing_new.empty) == (0, 1)
    assert len(mailbox.messages) == 1


def test_deferred_messages_are_retried_until_accepted_nothing_lost_or_doubled(
    portal, mailbox
):
    addresses = _readers_with_news(portal, 6)
    mailbox.defer_next = 5

    summary = _run(portal)

    assert summary.sent == 6
    assert sorted(mailbox.recipients) == sorted(addresses)


def test_a_server_deferring_past_every_try_stops_the_run_and_the_next_sends_the_rest(
    portal, mailbox
):
    addresses = _readers_with_news(portal, 4)
    mailbox.defer_next = 100

    with pytest.raises(MailServerUnavailable):
        _run(portal)
    mailbox.defer_next = 0
    summary = _run(portal)

    assert summary.sent == 4
    assert sorted(mailbox.recipients) == sorted(addresses)


def test_repeated_permanent_refusals_pause_the_subscription(portal, mailbox):
    subscription_id = _subscribe(portal, "gone@example.org", ("AT",))
    mailbox.refused["gone@example.org"] = "550 5.1.1 No such mailbox"
    for day in range(3):
        portal.clock.moment = NOW + timedelta(days=day) - timedelta(hours=1)
        _news_of_day(portal, day)
        portal.clock.moment = NOW + timedelta(days=day)
        summary = _run(portal)
        assert summary.failed == 1

    with portal.sessions() as session:
        subscription = session.get(Subscription, subscription_id)
        assert (subscription.state, subscription.pause_reason) == ("paused", "delivery")
        assert "550" in subscription.last_failure
    assert mailbox.messages == []


def _news_of_day(runtime: Runtime, day: int) -> None:
    moment = runtime.clock.now()
    with runtime.sessions() as session:
        save_entries(session, "wien", [
            Entry(title=f"Gemeinderat tagt am {day + 1}. Dezember",
                  link=f"https://wien.example/rat/{day}",
                  summary="Der Gemeinderat berät den Haushalt für das nächste Jahr.",
                  language="de", published=moment - timedelta(minutes=30)),
        ], moment)  # fmt: skip
        session.commit()
    runtime.place_waiting()
    runtime.classify_waiting()


def test_two_workers_running_the_same_schedule_send_each_digest_once(portal, mailbox):
    addresses = _readers_with_news(portal, 30)
    runs: list[DigestRun] = [digest_run(portal), digest_run(portal)]
    summaries = []

    def work(run: DigestRun) -> None:
        summaries.append(run.run("daily"))

    workers = [threading.Thread(target=work, args=(run,)) for run in runs]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)

    assert sum(summary.sent for summary in summaries) == 30
    assert sorted(mailbox.recipients) == sorted(addresses)
    with portal.sessions() as session:
        states = session.scalars(select(DigestSend.state)).all()
    assert states == ["sent"] * 30


def test_a_run_killed_part_way_is_finished_by_the_next_each_digest_sent_once(
    settings, classifiers, mailbox
):
    """The run is a separate process, killed (SIGKILL) while the server holds
    its fifth message unaccepted; the restarted run sends the rest."""
    now = datetime.now(UTC)
    clock = Clock(now - timedelta(hours=2))
    runtime = Runtime.build(settings, clock=clock, classifiers=classifiers)
    runtime.upgrade()
    with runtime.sessions() as session:
        sync_sources(session, SOURCES, clock.now())
        session.commit()
    addresses = [f"reader{n:02d}@example.org" for n in range(12)]
    for address in addresses:
        _subscribe(runtime, address, ("AT",))
    clock.moment = now - timedelta(minutes=30)
    _news(runtime, clock.moment)
    runtime.close()

    env = {
        **os.environ,
        "AGGREGATOR_DATABASE_URL": settings.database_url,
        "AGGREGATOR_SMTP_URL": mailbox.url,
        "AGGREGATOR_SECRET_KEY": "test-secret",
        "AGGREGATOR_BASE_URL": "http://portal.test",
        "AGGREGATOR_DIGEST_DAILY_TIME": "00:00",
        "AGGREGATOR_DIGEST_LEASE_SECONDS": "2",
        "AGGREGATOR_SMTP_CONNECTIONS": "1",
    }
    command = [sys.executable, "-c", "from aggregator.cli import main; main()",
               "digest", "send", "--frequency", "daily"]  # fmt: skip
    running: list[subprocess.Popen[bytes]] = []

    def kill_at_fifth(number: int) -> bool:
        if number == 5:
            running[0].send_signal(signal.SIGKILL)
            running[0].wait()
            return False
        return True

    mailbox.before_accept = kill_at_fifth
    running.append(subprocess.Popen(command, env=env, stderr=subprocess.PIPE))
    running[0].communicate(timeout=60)
    assert running[0].returncode == -signal.SIGKILL
    assert sorted(mailbox.recipients) == addresses[:4]

    mailbox.before_accept = None
    time.sleep(2.1)  # the killed run's claims expire
    restart = subprocess.run(command, env=env, capture_output=True, timeout=60)

    assert restart.returncode == 0, restart.stderr.decode()
    assert b"8 sent" in restart.stdout
    assert sorted(mailbox.recipients) == addresses
