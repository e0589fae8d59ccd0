"""Search benchmark (issue 7): storing items with the search index, and
answering searches over them.

Stores ``--items`` items (titles and HTML text in ten EU languages, from
``samples.py``: a small vocabulary, so a common word matches a tenth of all
items or more, the hard case) through ``save_entries``, in batches of 1,000
with one commit each, into a temporary SQLite database or the PostgreSQL
database of ``--database-url`` (its tables are dropped first and after).
Then it runs each query of QUERIES ``--repeat`` times through
``search_stories``: the first page of 30 and the page after it.

Printed: items stored per second with the index kept by the database, and,
with ``--compare N``, the same for N items without it (SQLite: the triggers
dropped; PostgreSQL: the generated column dropped); then per query the
number of matching stories on the first two pages and p50 / p99 latency.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from benchmarks.samples import LANGUAGES, Story, make_story
from extractors.entry import Entry
from storage.database import make_engine, make_session_factory, upgrade_database
from storage.items import save_entries
from storage.search import SearchFilters, next_search_cursor, search_stories
from storage.sources import sync_sources

NOW = datetime(2026, 12, 31, 12, 0, tzinfo=UTC)
BATCH = 1_000
PAGE = 30
QUERIES = [
    ("Gemeinderat", SearchFilters()),
    ("Gemeinderat", SearchFilters(language="de")),
    ("Radweg Hauptstraße", SearchFilters()),
    ("bibliotek*", SearchFilters()),
    ("Graz", SearchFilters(since=datetime(2026, 11, 20, tzinfo=UTC))),
    ("nowhere-to-be-found", SearchFilters()),
]


def fill(engine: Engine, count: int, seed: int = 7) -> float:
    """Store ``count`` items; the seconds it took."""
    rng = random.Random(seed)
    sessions = make_session_factory(engine)
    with sessions() as session:
        sync_sources(session, [_source(language.code) for language in LANGUAGES], NOW)
        session.commit()

    started = time.perf_counter()
    for start in range(0, count, BATCH):
        language = LANGUAGES[(start // BATCH) % len(LANGUAGES)]
        entries = [
            _entry(make_story(rng, language, f"https://x.example/{n}", 3))
            for n in range(start, min(start + BATCH, count))
        ]
        with sessions() as session:
            save_entries(session, f"bench-{language.code}", entries, NOW, backlog=True)
            session.commit()
    return time.perf_counter() - started


def measure_queries(engine: Engine, repeat: int) -> None:
    sessions = make_session_factory(engine)
    for query, filters in QUERIES:
        timings = []
        found = 0
        for _ in range(repeat):
            with sessions() as session:
                started = time.perf_counter()
                found = _two_pages(session, query, filters)
                timings.append((time.perf_counter() - started) * 1000)
        timings.sort()
        p99 = timings[min(len(timings) - 1, int(len(timings) * 0.99))]
        label = f"{query!r} {_describe(filters)}".strip()
        print(
            f"  {label:<45} {found:>3} stories  "
            f"p50 {statistics.median(timings):7.1f} ms  p99 {p99:7.1f} ms"
        )


def _two_pages(session: Session, query: str, filters: SearchFilters) -> int:
    first = search_stories(session, query, filters, PAGE)
    cursor = next_search_cursor(first, PAGE)
    if cursor is None:
        return len(first)
    return len(first) + len(search_stories(session, query, filters, PAGE, cursor))


def _describe(filters: SearchFilters) -> str:
    return " ".join(
        f"{name}={value:%Y-%m-%d}" if isinstance(value, datetime) else f"{name}={value}"
        for name, value in vars(filters).items()
        if value is not None
    )


def _source(language: str) -> dict[str, object]:
    return {
        "id": f"bench-{language}", "name": f"Bench {language}", "kind": "feed",
        "url": f"https://{language}.example/rss", "publisher": "municipality",
        "languages": [language],
    }  # fmt: skip


def _entry(story: Story) -> Entry:
    return Entry(
        title=story.title,
        link=story.link,
        content_html="".join(f"<p>{p}</p>" for p in story.paragraphs),
        language=story.language.code,
        published=story.published,
    )


def _drop_index(engine: Engine) -> None:
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("ALTER TABLE items DROP COLUMN search_document"))
            return
        for trigger in ("insert", "update", "delete"):
            connection.execute(text(f"DROP TRIGGER items_search_{trigger}"))


def _fresh(url: str) -> Engine:
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    upgrade_database(engine)
    return engine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--compare", type=int, default=0, metavar="N")
    parser.add_argument("--database-url", help="PostgreSQL; its tables are dropped")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'search.db'}"
        engine = _fresh(url)
        print(f"{engine.dialect.name}: storing {args.items:,} items")
        seconds = fill(engine, args.items)
        print(f"  with the search index: {args.items / seconds:,.0f} items/s")
        measure_queries(engine, args.repeat)
        engine.dispose()

        if args.compare:
            if not args.database_url:
                url = f"sqlite:///{Path(folder) / 'plain.db'}"
            engine = _fresh(url)
            _drop_index(engine)
            seconds = fill(engine, args.compare)
            rate = args.compare / seconds
            print(f"  {args.compare:,} items without it: {rate:,.0f} items/s")
            engine.dispose()
        if args.database_url:
            _fresh(url).dispose()


if __name__ == "__main__":
    main()
