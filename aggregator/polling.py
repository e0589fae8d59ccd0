"""When to fetch a source next: its own hints, its rhythm, its failures."""

from __future__ import annotations

import itertools
import random
import statistics
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

MIN_INTERVAL = timedelta(minutes=5)
MAX_INTERVAL = timedelta(hours=24)
MAX_BACKOFF = timedelta(days=1)


def adaptive_interval(published: Sequence[datetime], default: timedelta) -> timedelta:
    """A poll interval that follows how often the source really publishes.

    A quarter of the typical gap between its recent items means a new item
    waits on average an eighth of that gap, while a source that publishes
    weekly is not asked every hour. Too few dated items give ``default``.
    """
    if len(published) < 3:
        return default
    ordered = sorted(published)
    gaps = [later - earlier for earlier, later in itertools.pairwise(ordered)]
    typical = statistics.median(gap.total_seconds() for gap in gaps)
    return _clamp(timedelta(seconds=typical / 4))


def cache_lifetime(headers: Mapping[str, str], now: datetime) -> timedelta | None:
    """How long the server says its answer stays fresh (Cache-Control, Expires)."""
    control = headers.get("cache-control", "")
    for directive in control.split(","):
        name, _, value = directive.strip().partition("=")
        if name.lower() in ("no-cache", "no-store"):
            return None
        if name.lower() == "max-age" and value.strip('"').isdigit():
            return timedelta(seconds=int(value.strip('"')))

    expires = _http_date(headers.get("expires", ""))
    if expires is not None:
        served = _http_date(headers.get("date", "")) or now
        return max(expires - served, timedelta(0))
    return None


def retry_after(headers: Mapping[str, str], now: datetime) -> timedelta | None:
    """The wait a 429 or 503 asks for, in seconds or as a date (RFC 9110 10.2.3)."""
    value = headers.get("retry-after", "").strip()
    if value.isdigit():
        return min(timedelta(seconds=int(value)), MAX_BACKOFF)
    moment = _http_date(value)
    if moment is None:
        return None
    return min(max(moment - now, timedelta(0)), MAX_BACKOFF)


def backoff(failures: int, interval: timedelta, rng: random.Random) -> timedelta:
    """Doubling waits after failures in a row, a day at most, with jitter.

    The jitter spreads sources that failed together (a shared host went down)
    so that they do not all come back in the same second.
    """
    if failures <= 0:
        return interval
    wait = min(interval * (2 ** min(failures - 1, 16)), MAX_BACKOFF)
    return min(wait * rng.uniform(0.8, 1.2), MAX_BACKOFF)


def next_interval(
    configured_minutes: int | None,
    published: Sequence[datetime],
    default: timedelta,
    server_hint: timedelta | None,
) -> timedelta:
    """The interval after a successful fetch.

    A source's own poll_interval wins over its rhythm; the server's freshness
    hint (Cache-Control, Expires, an RSS <ttl>) can only lengthen it.
    """
    if configured_minutes:
        interval = timedelta(minutes=configured_minutes)
    else:
        interval = adaptive_interval(published, default)
    if server_hint is not None:
        interval = max(interval, min(server_hint, MAX_INTERVAL))
    return interval


def _clamp(interval: timedelta) -> timedelta:
    return max(MIN_INTERVAL, min(interval, MAX_INTERVAL))


def _http_date(value: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment.tzinfo is not None else None
