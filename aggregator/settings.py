"""Runtime settings, read once from ``AGGREGATOR_*`` environment variables."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# The queues of 'aggregator worker', each a stage a worker may take on.
WORKER_QUEUES = ("crawl", "dedup", "classify", "digest")


class Settings(BaseSettings):
    """Everything an operator can set, each with a default and a help line.

    The help line is the field's description; ``aggregator settings`` prints
    them all with their current values.
    """

    model_config = SettingsConfigDict(env_prefix="AGGREGATOR_", extra="ignore")

    database_url: str = Field(
        "sqlite:///var/aggregator.db",
        description="SQLAlchemy URL of the database (sqlite:///path or "
        "postgresql+psycopg://user@host/db).",
    )
    base_url: str = Field(
        "http://127.0.0.1:8000",
        description="Public address of the portal, used in feeds and e-mails.",
    )
    listen: str = Field(
        "127.0.0.1:8000", description="host:port where the web app listens."
    )
    secret_key: str = Field(
        "",
        description="Secret for signed links and sessions; set a long random "
        "value in production.",
        repr=False,
    )
    smtp_url: str = Field(
        "smtp://127.0.0.1:25",
        description="Mail server as smtp:// or smtps://, user and password in the URL.",
        repr=False,
    )
    allow_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated hosts or networks the crawler may reach "
        "although they are private (e.g. 127.0.0.1 for a demo).",
    )
    log_format: Literal["text", "json"] = Field(
        "text", description="Log output: key=value text or one JSON object a line."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Lowest level of log messages written."
    )
    sources_file: Path = Field(
        Path("sources.yaml"), description="Registry of sources that sync reads."
    )
    tick_seconds: int = Field(
        60, ge=1, description="How often the scheduler looks for due sources."
    )
    poll_interval_minutes: int = Field(
        60,
        ge=5,
        le=10080,
        description="How often a source is fetched unless it sets its own.",
    )
    fetch_timeout_seconds: float = Field(
        30.0, gt=0, description="Longest a single fetch may take in total."
    )
    max_body_bytes: int = Field(
        5_000_000, ge=1024, description="Largest response body read, decompressed."
    )
    max_concurrency: int = Field(
        64, ge=1, description="Fetches in flight at once across all hosts."
    )
    host_concurrency: int = Field(
        2, ge=1, le=8, description="Fetches in flight at once to one host."
    )
    host_gap_seconds: float = Field(
        0.5,
        ge=0,
        description="Least time between the starts of two fetches from one host "
        "(a longer Crawl-delay in robots.txt wins).",
    )
    shared_politeness: bool = Field(
        True,
        description="Workers ('aggregator worker') keep the two limits above "
        "together through the database, so n workers send a host no more than "
        "one would.",
    )
    parse_workers: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        ge=0,
        le=64,
        description="Processes that parse feeds and article pages during a crawl "
        "(default: one per core; 0 parses in the crawling process itself).",
    )
    robots_cache_seconds: int = Field(
        6 * 3600, ge=60, description="How long a host's robots.txt is kept."
    )
    websub_enabled: bool = Field(
        True,
        description="Subscribe at the WebSub hub a feed names and accept its "
        "pushes at {base_url}/websub/{source id}.",
    )
    websub_lease_seconds: int = Field(
        7 * 86400,
        ge=3600,
        description="Lease asked of a WebSub hub; the subscription is renewed "
        "when 80% of the granted lease has passed.",
    )
    websub_poll_hours: float = Field(
        24.0,
        ge=1,
        description="How often a source with an active WebSub subscription is "
        "still polled (less often if the source itself asks so).",
    )
    max_releases_per_crawl: int = Field(
        30,
        ge=0,
        le=1000,
        description="Most new release pages fetched from one press-release "
        "listing per crawl, newest first; the rest keep their listing teaser.",
    )
    full_text_min_words: int = Field(
        80,
        ge=0,
        le=10000,
        description="A new feed entry with fewer words of its own has its article "
        "page fetched for the full text (0: never).",
    )
    dedup_threshold: float = Field(
        0.5,
        gt=0,
        le=1,
        description="Least Jaccard similarity of two items' word shingles for one "
        "to join the other's story as a copy.",
    )
    dedup_window_days: int = Field(
        14,
        ge=1,
        description="Copies are looked for among items published this many days "
        "before or after (same address and release numbers: any time).",
    )
    dedup_permutations: int = Field(
        64,
        ge=8,
        le=512,
        description="MinHash permutations per item; changing it needs every "
        "stored item indexed again.",
    )
    dedup_bands: int = Field(
        21,
        ge=1,
        le=128,
        description="Locality-sensitive bands the permutations are cut into; more "
        "bands find less similar copies at the cost of more look-ups.",
    )
    dedup_shingle_words: int = Field(
        3, ge=1, le=8, description="Words in one shingle of an item's text."
    )
    dedup_min_words: int = Field(
        20,
        ge=1,
        description="Items with fewer words join a story only by their address or "
        "release number, never by their text.",
    )
    contact_url: str = Field(
        "https://github.com/municipal-news-aggregator",
        description="Where site owners learn about the crawler; sent in the "
        "User-Agent.",
    )
    login_failures_to_lock: int = Field(
        10,
        ge=3,
        le=100,
        description="Wrong passwords in a row that lock an editor's account.",
    )
    login_lock_minutes: int = Field(
        15, ge=1, description="How long a locked editor account stays locked."
    )
    editor_session_hours: int = Field(
        12, ge=1, le=720, description="How long an editor stays logged in."
    )
    mail_from: str = Field(
        "",
        description="Sender of the portal's e-mails, e.g. 'Portal "
        "<news@portal.example>' (default: news@ the host of the base URL).",
    )
    smtp_timeout_seconds: float = Field(
        30.0, gt=0, description="Longest wait for one answer of the mail server."
    )
    smtp_attempts: int = Field(
        4,
        ge=1,
        le=10,
        description="Tries of one message while the mail server answers 4xx or "
        "the connection drops; the waits between them double.",
    )
    smtp_retry_seconds: float = Field(
        2.0, ge=0, description="Wait before the second try of a message."
    )
    smtp_connections: int = Field(
        2, ge=1, le=16, description="Connections to the mail server a digest run uses."
    )
    digest_timezone: str = Field(
        "Europe/Brussels", description="Time zone of the digest times below."
    )
    digest_daily_time: str = Field(
        "07:00", description="When the daily digests are sent (HH:MM, local)."
    )
    digest_weekly_day: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = Field(
        "mon", description="Day the weekly digests are sent, at the daily time."
    )
    digest_lease_seconds: int = Field(
        600,
        ge=1,
        description="How long a digest run holds a digest it claimed; after that "
        "a run that died is taken over and its unsent digests are sent.",
    )
    digest_jobs: int = Field(
        4,
        ge=1,
        le=64,
        description="Jobs one period's digests are split into on the workers' queue, "
        "so that several workers send them at once ('aggregator worker' only).",
    )
    digest_failures_to_pause: int = Field(
        3,
        ge=1,
        description="Digests refused for good (5xx) in a row that pause a "
        "subscription.",
    )
    digest_max_stories: int = Field(
        40, ge=1, le=500, description="Most stories in one digest; the rest are linked."
    )
    digest_unsubscribe_mailto: str = Field(
        "",
        description="An address whose mail is read, offered in List-Unsubscribe "
        "beside the one-click link (empty: the link only).",
    )
    subscription_link_days: int = Field(
        180, ge=1, description="How long the manage and unsubscribe links work."
    )
    confirmation_link_hours: int = Field(
        48,
        ge=1,
        description="How long a confirmation link works; unconfirmed requests "
        "are forgotten after it.",
    )

    feed_max_age: int = Field(
        300,
        ge=0,
        description="Seconds a feed may be reused by readers and caches "
        "before they ask again (Cache-Control max-age).",
    )
    page_max_age: int = Field(
        60,
        ge=0,
        description="Seconds an API answer may be reused before it is asked "
        "again (pages are asked again each time they are shown); also how often "
        "the sources page's health refreshes.",
    )
    response_cache_entries: int = Field(
        256,
        ge=0,
        description="Rendered feeds, pages and API answers kept in memory by "
        "each web process, keyed by their ETag; 0 keeps none.",
    )
    registration_link_hours: int = Field(
        72,
        ge=1,
        le=720,
        description="How long the confirmation link e-mailed to a registrant works.",
    )
    registrations_per_address_hour: int = Field(
        9,
        ge=1,
        description="Registration attempts accepted from one address in an hour; "
        "the next is refused.",
    )
    registrations_per_network_hour: int = Field(
        30,
        ge=1,
        description="Registration attempts accepted from one /24 (IPv4) or /48 "
        "(IPv6) network in an hour; the next is refused.",
    )
    registrations_per_domain: int = Field(
        3,
        ge=1,
        description="Registrations of one website domain waiting for confirmation "
        "or review at once; another is refused until they are decided.",
    )
    # Several machines on PostgreSQL: connections and the workers' queue.
    database_pool_size: int = Field(
        5,
        ge=1,
        le=100,
        description="PostgreSQL connections each process keeps open (more are "
        "opened for a moment under load, up to twice as many).",
    )
    statement_timeout_seconds: float = Field(
        60.0,
        ge=0,
        description="Longest one SQL statement may run on PostgreSQL before it is "
        "cancelled and its task retried (0: no limit).",
    )
    worker_concurrency: int = Field(
        16,
        ge=1,
        le=256,
        description="Jobs (mostly sources being crawled) one 'aggregator worker' "
        "runs at once.",
    )
    worker_queues: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated queues a worker takes jobs from: crawl, dedup, "
        "classify, digest (default: all four).",
    )
    worker_listen: str = Field(
        "127.0.0.1:9100",
        description="host:port where a worker serves /metrics and /health (port 0: "
        "any free port, logged at start; empty: none).",
    )
    worker_heartbeat_seconds: float = Field(
        10.0,
        gt=0,
        description="How often a worker tells the database it is alive.",
    )
    worker_stalled_seconds: float = Field(
        30.0,
        gt=0,
        description="A worker silent this long is taken for dead and its jobs are "
        "run again by the others; keep it several heartbeats long.",
    )
    worker_poll_seconds: float = Field(
        5.0,
        gt=0,
        description="How often an idle worker looks for jobs when no notification "
        "woke it sooner.",
    )

    @field_validator("allow_hosts", "worker_queues", mode="before")
    @classmethod
    def split_hosts(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("listen")
    @classmethod
    def check_listen(cls, value: str) -> str:
        return check_listen_address(value)

    @field_validator("worker_queues")
    @classmethod
    def check_queues(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(WORKER_QUEUES))
        if unknown:
            raise ValueError(
                f"unknown queue {', '.join(unknown)}: one of {', '.join(WORKER_QUEUES)}"
            )
        return value

    @field_validator("worker_listen")
    @classmethod
    def check_worker_listen(cls, value: str) -> str:
        return check_listen_address(value, any_port=True) if value else value

    @property
    def listen_host(self) -> str:
        return split_listen_address(self.listen)[0]

    @property
    def listen_port(self) -> int:
        return split_listen_address(self.listen)[1]

    @property
    def queues(self) -> list[str]:
        """The queues a worker takes jobs from."""
        return self.worker_queues or list(WORKER_QUEUES)

    @property
    def is_postgresql(self) -> bool:
        return self.database_url.startswith(("postgresql", "postgres"))

    @model_validator(mode="after")
    def check_bands(self) -> Settings:
        if self.dedup_bands > self.dedup_permutations:
            raise ValueError("dedup_bands must not exceed dedup_permutations")
        return self

    @field_validator("digest_daily_time")
    @classmethod
    def check_daily_time(cls, value: str) -> str:
        hour, _, minute = value.partition(":")
        if not (hour.isdigit() and minute.isdigit()) or not (
            int(hour) < 24 and int(minute) < 60
        ):
            raise ValueError("must be HH:MM, e.g. 07:00")
        return value

    @field_validator("digest_timezone")
    @classmethod
    def check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(
                "must be a time zone name, e.g. Europe/Brussels"
            ) from error
        return value

    @property
    def sender(self) -> str:
        if self.mail_from:
            return self.mail_from
        host = urlsplit(self.base_url).hostname or "localhost"
        return f"news@{host}"

    @property
    def user_agent(self) -> str:
        return f"MunicipalNewsAggregator/0.1 (+{self.contact_url})"


def check_listen_address(value: str, any_port: bool = False) -> str:
    """``value`` if it is host:port; port 0 (any free port) only if allowed."""
    host, _, port = value.rpartition(":")
    lowest = 0 if any_port else 1
    if not host or not port.isdigit() or not lowest <= int(port) < 65536:
        raise ValueError("must be host:port, e.g. 127.0.0.1:8000")
    return value


def split_listen_address(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    return host.strip("[]"), int(port)


def describe_settings(settings: Settings) -> list[tuple[str, str, str]]:
    """Return (environment variable, current value, help) for every setting."""
    rows = []
    for name, field in Settings.model_fields.items():
        value = getattr(settings, name)
        if not field.repr and value:
            shown = "(set)"
        elif isinstance(value, list):
            shown = ",".join(str(part) for part in value)
        else:
            shown = str(value)
        rows.append((f"AGGREGATOR_{name.upper()}", shown, field.description or ""))
    return rows
