"""Digest benchmark (issue 8): a full daily run for 100,000 subscriptions.

A temporary SQLite database gets a region tree (27 countries, 5 NUTS 2
regions each, 4 NUTS 3 regions each, 10 municipalities each: 5,400
places), a day of stories (``--stories``, each in a municipality and its
ancestors, one or two topics, one in ten with a version in a second
language) and ``--subscriptions`` confirmed subscriptions spread as readers
would be: most follow their municipality (the populous ones more than
others), fewer a NUTS 3 or NUTS 2 region or a whole country; three in ten
choose topics, one in five languages; e-mails in the eight interface
languages; 85% daily. ``DigestRun.run("daily")`` (what ``aggregator digest
send`` runs) then sends every digest to an aiosmtpd server on 127.0.0.1 in
its own process (``benchmarks/smtpsink.py``), which counts them.

Printed: digests sent and subscriptions with nothing new, total time,
messages per second, CPU seconds and peak memory (RSS) of the sending
process (the SMTP server's apart), and what the server received. Target:
at least 300 messages per second on this machine.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert

from aggregator.digests import DigestRunSummary, digest_run
from aggregator.logs import configure_logging
from aggregator.runtime import Runtime
from aggregator.settings import Settings
from benchmarks.measure import TreeMonitor, Usage
from classifiers.taxonomy import load_topics
from storage.models import (
    Item,
    ItemRegionRow,
    ItemTopicRow,
    Region,
    Source,
    Story,
    Subscription,
)

COUNTRIES = [
    "AT",
    "BE",
    "BG",
    "CY",
    "CZ",
    "DE",
    "DK",
    "EE",
    "EL",
    "ES",
    "FI",
    "FR",
    "HR",
    "HU",
    "IE",
    "IT",
    "LT",
    "LU",
    "LV",
    "MT",
    "NL",
    "PL",
    "PT",
    "RO",
    "SE",
    "SI",
    "SK",
]
LANGUAGES = ("de", "fr", "it", "es", "pl", "sv", "bg", "en", "nl", "cs")
LOCALES = ("en", "de", "fr", "sv", "bg", "es", "it", "pl")
LOCALE_WEIGHTS = (20, 25, 20, 5, 5, 10, 10, 5)
SERVER_START_SECONDS = 30.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscriptions", type=int, default=100_000)
    parser.add_argument("--stories", type=int, default=3_000, help="A day's stories.")
    parser.add_argument(
        "--connections", type=int, default=2, help="SMTP connections of the run."
    )
    parser.add_argument("--seed", type=int, default=8)
    return parser.parse_args(argv)


@dataclass
class DigestReport:
    summary: DigestRunSummary
    usage: Usage
    received: dict[str, int]

    @property
    def messages_per_second(self) -> float:
        return self.summary.sent / self.usage.wall_s if self.usage.wall_s else 0.0


def region_tree() -> tuple[list[dict[str, Any]], list[str]]:
    """The rows of the tree and the municipalities' codes."""
    rows = [_region("EU", None, "eu", None, "EU/")]
    places = []
    for country in COUNTRIES:
        rows.append(_region(country, "EU", "country", country, f"EU/{country}/"))
        for two in range(5):
            nuts2 = f"{country}{two}"
            path2 = f"EU/{country}/{nuts2}/"
            rows.append(_region(nuts2, country, "nuts2", country, path2))
            for three in range(4):
                nuts3 = f"{nuts2}{three}"
                path3 = f"{path2}{nuts3}/"
                rows.append(_region(nuts3, nuts2, "nuts3", country, path3))
                for place in range(10):
                    code = f"{nuts3}-{place}"
                    rows.append(_region(code, nuts3, "lau", country, f"{path3}{code}/"))
                    places.append(code)
    return rows, places


def _region(
    code: str, parent: str | None, level: str, country: str | None, path: str
) -> dict[str, Any]:
    return {
        "code": code, "parent": parent, "level": level, "country": country,
        "name": f"Region {code}", "names": [], "population": None, "path": path,
        "replaces": None, "origin": "gazetteer",
    }  # fmt: skip


def fill_database(runtime: Runtime, args: argparse.Namespace, now: datetime) -> None:
    rng = random.Random(args.seed)
    regions, places = region_tree()
    slugs = [topic.slug for topic in load_topics()]
    with runtime.sessions() as session:
        session.execute(insert(Region), regions)
        session.execute(
            insert(Source), [_source(country, now) for country in COUNTRIES]
        )
        stories, items, item_regions, item_topics = _stories(
            rng, places, slugs, args.stories, now
        )
        session.execute(insert(Story), stories)
        session.execute(insert(Item), items)
        session.execute(insert(ItemRegionRow), item_regions)
        session.execute(insert(ItemTopicRow), item_topics)
        session.execute(
            insert(Subscription),
            _subscriptions(rng, places, slugs, args.subscriptions, now),
        )
        session.commit()


def _source(country: str, now: datetime) -> dict[str, Any]:
    return {
        "id": f"city-{country.lower()}", "name": f"City of {country}", "kind": "feed",
        "url": f"https://{country.lower()}.example/rss", "publisher": "municipality",
        "country": country, "languages": [], "state": "active", "created_at": now,
        "updated_at": now, "consecutive_failures": 0, "moved_count": 0,
        "trust": "trusted",
    }  # fmt: skip


def _stories(
    rng: random.Random, places: list[str], slugs: list[str], count: int, now: datetime
) -> tuple[list[dict[str, Any]], ...]:
    stories, items, item_regions, item_topics = [], [], [], []
    item_id = 0
    # The populous places publish more: a Zipf-like weight by rank.
    weights = [1 / (rank + 1) ** 0.6 for rank in range(len(places))]
    chosen = rng.choices(places, weights, k=count)
    for story_id, place in enumerate(chosen, start=1):
        country = place[:2]
        seen = now - timedelta(seconds=rng.uniform(60, 86_000))
        stories.append({"id": story_id, "headline_item_id": item_id + 1,
                        "created_at": seen, "updated_at": seen})  # fmt: skip
        languages = [rng.choice(LANGUAGES)]
        if rng.random() < 0.1:
            languages.append("en" if languages[0] != "en" else "fr")
        topics = rng.sample(slugs, rng.choice((1, 1, 2)))
        for position, language in enumerate(languages):
            item_id += 1
            items.append(_item(item_id, story_id, country, language, position, seen))
            ancestors = [
                place,
                place.split("-")[0],
                place[:3],
                country,
                "EU",
            ]
            item_regions.extend(
                {"item_id": item_id, "code": code, "level": "x", "country": country,
                 "reason": "source", "evidence": "benchmark",
                 "via": None if code == place else place}
                for code in ancestors
            )  # fmt: skip
            item_topics.extend(
                {"item_id": item_id, "slug": slug, "score": rng.random(),
                 "reason": "rules", "evidence": []}
                for slug in topics
            )  # fmt: skip
    return stories, items, item_regions, item_topics


def _item(
    item_id: int, story_id: int, country: str, language: str, position: int,
    seen: datetime,
) -> dict[str, Any]:  # fmt: skip
    return {
        "id": item_id, "source_id": f"city-{country.lower()}",
        "entry_key": f"e{item_id}",
        "url": f"https://{country.lower()}.example/{item_id}",
        "title": f"Council decision number {item_id} on the new tram line and budget",
        "summary": "The municipal council met on Tuesday and decided, after a long "
        "debate, to extend the tram line to the new district and to raise the "
        "budget for schools, parks and the renovation of the old town hall. " * 2,
        "content_html": "", "authors": [], "categories": [], "language": language,
        "published_at": seen, "first_seen_at": seen, "content_hash": f"h{item_id}",
        "date_known": True, "classified_at": seen, "story_id": story_id,
        "story_role": "headline" if position == 0 else "version",
        "text_hash": f"t{item_id}",
    }  # fmt: skip


def _subscriptions(
    rng: random.Random, places: list[str], slugs: list[str], count: int, now: datetime
) -> Iterator[dict[str, Any]]:
    weights = [1 / (rank + 1) ** 0.6 for rank in range(len(places))]
    homes = rng.choices(places, weights, k=count)
    since = now - timedelta(days=1)
    for number, home in enumerate(homes):
        level = rng.random()
        if level < 0.6:
            regions = [home]
        elif level < 0.8:
            regions = [home.split("-")[0]]
        elif level < 0.9:
            regions = [home[:3]]
        else:
            regions = [home[:2]]
        if rng.random() < 0.1:
            regions.append(rng.choice(places))
        yield {
            "email": f"reader{number}@mail{number % 97}.example",
            "nonce": f"{number:032x}", "state": "active",
            "frequency": "daily" if rng.random() < 0.85 else "weekly",
            "locale": rng.choices(LOCALES, LOCALE_WEIGHTS)[0], "regions": regions,
            "topics": rng.sample(slugs, rng.randint(1, 3)) if rng.random() < 0.3
            else [],
            "languages": [rng.choice(LANGUAGES)] if rng.random() < 0.2 else [],
            "requested_at": since, "consent_at": since, "consent_text": "yes",
            "updated_at": since, "digest_since": since, "failures": 0,
        }  # fmt: skip


@contextmanager
def smtp_sink(port: int) -> Iterator[tuple[subprocess.Popen[str], dict[str, int]]]:
    """The counting SMTP server in its own process; what it received is
    filled in on the way out."""
    script = Path(__file__).with_name("smtpsink.py")
    process = subprocess.Popen(
        [sys.executable, str(script), str(port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    received: dict[str, int] = {}
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + SERVER_START_SECONDS
        while process.stdout.readline().strip() != "ready":
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the SMTP sink did not start")
        yield process, received
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
        lines = output.strip().splitlines()
        if lines:
            received.update(json.loads(lines[-1]))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run(args: argparse.Namespace) -> DigestReport:
    configure_logging("text", "WARNING")
    logging.getLogger("aggregator.digests").setLevel(logging.WARNING)
    now = datetime.now(UTC)
    port = _free_port()
    with tempfile.TemporaryDirectory() as folder, smtp_sink(port) as (sink, received):
        settings = Settings(
            database_url=f"sqlite:///{Path(folder) / 'digest.db'}",
            smtp_url=f"smtp://127.0.0.1:{port}",
            secret_key="benchmark",
            base_url="https://portal.example",
            mail_from="News <news@portal.example>",
            smtp_connections=args.connections,
            digest_daily_time="00:00",
        )
        runtime = Runtime.build(settings)
        try:
            runtime.upgrade()
            fill_database(runtime, args, now)
            run = digest_run(runtime)
            with TreeMonitor(exclude=[sink.pid]) as monitor:
                started, cpu = time.monotonic(), monitor.cpu()
                summary = run.run("daily")
                wall, cpu = time.monotonic() - started, monitor.cpu() - cpu
        finally:
            runtime.close()
    usage = Usage(wall, cpu, monitor.peak_rss, monitor.peak_pss, monitor.most_processes)
    return DigestReport(summary, usage, received)


def print_report(report: DigestReport, args: argparse.Namespace) -> None:
    summary, usage = report.summary, report.usage
    print(
        f"subscriptions:        {args.subscriptions:,} "
        f"({summary.subscriptions:,} daily)"
    )
    print(f"stories of the day:   {args.stories:,}")
    print(f"digests sent:         {summary.sent:,}")
    print(f"nothing new:          {summary.empty:,}")
    print(f"total time:           {usage.wall_s:.1f} s")
    print(f"messages per second:  {report.messages_per_second:.0f}")
    print(f"CPU (sending process): {usage.cpu_s:.1f} s")
    print(f"peak memory (RSS):    {usage.peak_rss / 2**20:.0f} MiB")
    print(
        f"server received:      {report.received.get('messages', 0):,} messages, "
        f"{report.received.get('bytes', 0) / 2**20:.0f} MiB, "
        f"{report.received.get('duplicates', 0)} to a recipient twice"
    )


def main(argv: list[str] | None = None) -> DigestReport:
    args = parse_args(argv)
    report = run(args)
    print_report(report, args)
    return report


if __name__ == "__main__":
    main()
