"""When a source is fetched next: rhythm, server hints, failures."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from aggregator import polling

NOW = datetime(2026, 11, 5, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def test_daily_publisher_is_polled_every_six_hours():
    published = [NOW - timedelta(days=n) for n in range(10)]

    assert polling.adaptive_interval(published, HOUR) == timedelta(hours=6)


def test_busy_publisher_is_polled_no_more_than_every_five_minutes():
    published = [NOW - timedelta(minutes=n) for n in range(10)]

    assert polling.adaptive_interval(published, HOUR) == timedelta(minutes=5)


def test_quiet_publisher_is_polled_at_least_daily():
    published = [NOW - timedelta(days=30 * n) for n in range(5)]

    assert polling.adaptive_interval(published, HOUR) == timedelta(hours=24)


def test_too_few_dated_items_keep_the_default_interval():
    assert polling.adaptive_interval([NOW, NOW - HOUR], HOUR * 2) == HOUR * 2


def test_configured_interval_wins_over_the_rhythm():
    published = [NOW - timedelta(minutes=n) for n in range(10)]

    interval = polling.next_interval(30, published, HOUR, None)

    assert interval == timedelta(minutes=30)


def test_server_hint_only_lengthens_the_interval():
    published = [NOW - timedelta(days=n) for n in range(10)]

    longer = polling.next_interval(None, published, HOUR, timedelta(hours=12))
    shorter = polling.next_interval(None, published, HOUR, timedelta(minutes=1))
    huge = polling.next_interval(None, published, HOUR, timedelta(days=30))

    assert (longer, shorter, huge) == (
        timedelta(hours=12),
        timedelta(hours=6),
        timedelta(hours=24),
    )


def test_cache_control_max_age_is_read():
    headers = {"cache-control": "public, max-age=3600"}

    assert polling.cache_lifetime(headers, NOW) == HOUR


def test_no_cache_means_no_hint():
    headers = {"cache-control": "no-cache", "expires": "Thu, 05 Nov 2026 18:00:00 GMT"}

    assert polling.cache_lifetime(headers, NOW) is None


def test_expires_is_measured_from_the_servers_date():
    headers = {
        "expires": "Thu, 05 Nov 2026 14:00:00 GMT",
        "date": "Thu, 05 Nov 2026 13:00:00 GMT",
    }

    assert polling.cache_lifetime(headers, NOW) == HOUR


def test_retry_after_in_seconds_and_as_a_date():
    seconds = polling.retry_after({"retry-after": "120"}, NOW)
    date = polling.retry_after({"retry-after": "Thu, 05 Nov 2026 13:30:00 GMT"}, NOW)
    garbage = polling.retry_after({"retry-after": "soon"}, NOW)

    assert (seconds, date, garbage) == (timedelta(minutes=2), 1.5 * HOUR, None)


def test_retry_after_is_capped_at_a_day():
    assert polling.retry_after({"retry-after": "99999999"}, NOW) == timedelta(days=1)


def test_backoff_doubles_with_jitter_and_stops_at_a_day():
    rng = random.Random(7)

    waits = [polling.backoff(n, HOUR, rng) for n in range(1, 8)]

    for n, wait in enumerate(waits[:5], start=1):
        assert 0.8 * HOUR * 2 ** (n - 1) <= wait <= 1.2 * HOUR * 2 ** (n - 1)
    assert waits[-1] == timedelta(days=1) or waits[-1] >= timedelta(hours=19)
    assert max(waits) <= timedelta(days=1)


def test_backoff_spreads_sources_that_failed_together():
    rng = random.Random(1)

    waits = {polling.backoff(3, HOUR, rng) for _ in range(20)}

    assert len(waits) == 20
