"""Dedup at scale: fill the band index, then place new items and score them.

    .venv/bin/python benchmarks/dedup.py                 # 1,000,000 items
    .venv/bin/python benchmarks/dedup.py --quick         # 20,000 items

Fills a fresh SQLite database (the project's own schema) with generated
releases in six languages, 80 to 400 words each, fingerprinted with the
project's code and written in bulk. Then new items arrive one by one through
the real path (stored, fingerprinted, indexed, placed in a story): edited
copies of stored releases published by another source (a rewritten
paragraph, a header and footer of the republisher's, sentences in another
order, typos) and unrelated new releases. Prints the fill and placement
rates, the look-up latency (finding the story, median and p99), the size of
the index on disk, and precision and recall on the copies.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import event, insert, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from dedup_texts import TextMaker, as_text

from aggregator.dedup import find_story, item_text
from aggregator.fingerprints import fingerprint, fingerprints
from aggregator.settings import Settings
from storage.database import (
    make_engine,
    make_session_factory,
    upgrade_database,
)
from storage.models import Item, ItemBand, Source, Story
from storage.stories import place_item, replace_bands

EDITS = ("paragraph", "frame", "reorder", "typo")
SOURCES = 50
START = datetime(2025, 1, 1, tzinfo=UTC)
DAYS = 365
CHUNK = 5000


def main() -> None:
    options = _options()
    settings = Settings(database_url=f"sqlite:///{options.database}")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{options.database}{suffix}").unlink(missing_ok=True)
    fill_engine = make_engine(settings.database_url)
    # A large page cache for the bulk fill only; placement below runs with
    # the portal's own engine settings.
    event.listen(fill_engine, "connect", _large_cache)
    upgrade_database(fill_engine)
    maker = TextMaker(options.seed)
    rng = np.random.default_rng(options.seed + 1)

    originals = set(
        rng.choice(options.items, size=options.copies, replace=False).tolist()
    )
    print(f"filling {options.items:,} items ...", flush=True)
    started = time.perf_counter()
    kept = _fill(fill_engine, settings, maker, options.items, originals, rng)
    fill_seconds = time.perf_counter() - started
    print(
        f"fill: {options.items:,} items in {fill_seconds:.0f} s "
        f"({options.items / fill_seconds:,.0f} items/s, bulk, fingerprints included)",
        flush=True,
    )
    with fill_engine.begin() as connection:
        connection.execute(text("ANALYZE"))
    fill_engine.dispose()

    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    arrivals = _arrivals(maker, kept, options.unrelated, rng)
    result = _place(sessions, settings, arrivals)
    _report(engine, options.database, result)


def _large_cache(connection, _record) -> None:
    connection.execute("PRAGMA cache_size=-524288")


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--copies", type=int, default=2000, help="edited copies placed")
    parser.add_argument(
        "--unrelated", type=int, default=1000, help="new releases placed"
    )
    parser.add_argument(
        "--quick", action="store_true", help="20,000 items, 400+200 new"
    )
    parser.add_argument("--database", default="var/bench-dedup.db")
    parser.add_argument("--seed", type=int, default=7)
    options = parser.parse_args()
    if options.quick:
        options.items, options.copies, options.unrelated = 20_000, 400, 200
    Path(options.database).parent.mkdir(parents=True, exist_ok=True)
    return options


def _fill(engine, settings, maker, count, originals, rng) -> dict[int, tuple]:
    """Insert ``count`` items with stories and bands; keep the originals' texts."""
    now = START + timedelta(days=DAYS + 30)
    with engine.begin() as connection:
        connection.execute(
            insert(Source),
            [
                {"id": f"s{n}", "name": f"Source {n}", "kind": "feed",
                 "url": f"https://s{n}.example/rss", "publisher": "municipality",
                 "languages": [], "created_at": now, "updated_at": now}
                for n in range(SOURCES)
            ],
        )  # fmt: skip

    kept: dict[int, tuple] = {}
    for first in range(0, count, CHUNK):
        rows, stories, bands = [], [], []
        size = min(CHUNK, count - first)
        releases = [maker.release() for _ in range(size)]
        titles = [maker.title(maker.language(code)) for code, _ in releases]
        bodies = [as_text(paragraphs) for _, paragraphs in releases]
        texts = [item_text(t, b, "") for t, b in zip(titles, bodies, strict=True)]
        found = fingerprints(
            texts, settings.dedup_shingle_words, settings.dedup_permutations
        )
        offsets = rng.integers(0, DAYS * 86400, size=size)
        sources = rng.integers(0, SOURCES, size=size)
        for index in range(size):
            item_id = first + index + 1
            published = START + timedelta(seconds=int(offsets[index]))
            code, paragraphs = releases[index]
            if item_id - 1 in originals:
                kept[item_id] = (
                    code,
                    paragraphs,
                    titles[index],
                    published,
                    int(sources[index]),
                )
            rows.append(
                {"id": item_id, "source_id": f"s{sources[index]}",
                 "entry_key": f"k{item_id}", "guid": f"g{item_id}",
                 "url": f"https://s{sources[index]}.example/news/{item_id}",
                 "canonical_url": f"https://s{sources[index]}.example/news/{item_id}",
                 "title": titles[index], "summary": bodies[index], "content_html": "",
                 "authors": [], "categories": [], "language": code,
                 "published_at": published, "first_seen_at": published,
                 "content_hash": found[index].text_hash, "date_known": True,
                 "story_id": item_id, "story_role": "headline",
                 "text_hash": found[index].text_hash, "minhash": found[index].minhash}
            )  # fmt: skip
            stories.append(
                {"id": item_id, "headline_item_id": item_id, "created_at": published,
                 "updated_at": published, "editor_locked": False}
            )  # fmt: skip
            bands.extend(
                {"band": band, "hash": value, "item_id": item_id}
                for band, value in found[index].bands(settings.dedup_bands)
            )
        bands.sort(key=lambda row: (row["band"], row["hash"]))
        with engine.begin() as connection:
            connection.execute(insert(Story), stories)
            connection.execute(insert(Item), rows)
            connection.execute(insert(ItemBand), bands)
        if (first // CHUNK) % 20 == 0:
            print(f"  {first + size:,} items", flush=True)
    return kept


def _arrivals(maker, kept, unrelated, rng) -> list[tuple]:
    """New items: (kind, original item id or None, language, title, paragraphs, ...)."""
    arrivals = []
    for number, (item_id, (code, paragraphs, title, published, source)) in enumerate(
        sorted(kept.items())
    ):
        kind = EDITS[number % len(EDITS)]
        copy = maker.edit(code, paragraphs, kind)
        later = published + timedelta(hours=int(rng.integers(1, 72)))
        other = (source + 1 + int(rng.integers(SOURCES - 1))) % SOURCES
        arrivals.append((kind, item_id, code, title, copy, later, other))
    for _ in range(unrelated):
        code, paragraphs = maker.release()
        published = START + timedelta(seconds=int(rng.integers(0, DAYS * 86400)))
        title = maker.title(maker.language(code))
        arrivals.append(("unrelated", None, code, title, paragraphs, published,
                         int(rng.integers(SOURCES))))  # fmt: skip
    order = rng.permutation(len(arrivals))
    return [arrivals[i] for i in order]


def _place(sessions, settings, arrivals) -> dict:
    """Each new item through the real path; the time of each step."""
    lookups, lookup_cpu, placements = [], [], []
    outcome: Counter[str] = Counter()
    missed: Counter[str] = Counter()
    started = time.perf_counter()
    session = sessions()
    for number, (
        kind,
        original,
        code,
        title,
        paragraphs,
        published,
        source,
    ) in enumerate(arrivals):
        html = "".join(f"<p>{' '.join(p)}</p>" for p in paragraphs)
        item = Item(
            source_id=f"s{source}", entry_key=f"new{number}-{id(arrivals)}",
            guid=f"new{number}",
            url=f"https://s{source}.example/new/{number}",
            canonical_url=f"https://s{source}.example/new/{number}", title=title,
            summary="", content_html=html, authors=[], categories=[], language=code,
            published_at=published, first_seen_at=published, content_hash="-",
        )  # fmt: skip
        began = time.perf_counter()
        session.add(item)
        session.flush()
        found = fingerprint(
            item_text(item.title, item.summary, item.content_html),
            settings.dedup_shingle_words,
            settings.dedup_permutations,
        )
        item.text_hash, item.minhash = found.text_hash, found.minhash
        replace_bands(session, item.id, [], found.bands(settings.dedup_bands))
        session.flush()
        looked, cpu = time.perf_counter(), time.thread_time()
        match = find_story(session, item, found, settings)
        lookups.append(time.perf_counter() - looked)
        lookup_cpu.append(time.thread_time() - cpu)
        story = place_item(session, item, match.story_id if match else None, published)
        placements.append(time.perf_counter() - began)
        if number % 100 == 99:
            session.commit()

        if kind == "unrelated":
            outcome["false_positive" if match else "true_negative"] += 1
        elif story == original:
            outcome["true_positive"] += 1
        elif match:
            outcome["false_positive"] += 1
            missed[kind] += 1
        else:
            outcome["false_negative"] += 1
            missed[kind] += 1
    session.commit()
    session.close()
    elapsed = time.perf_counter() - started
    copies = Counter(kind for kind, *_ in arrivals if kind != "unrelated")
    return {"lookups": lookups, "lookup_cpu": lookup_cpu, "placements": placements,
            "outcome": outcome, "missed": missed, "copies": copies,
            "elapsed": elapsed}  # fmt: skip


def _report(engine, database: str, result: dict) -> None:
    lookups = sorted(result["lookups"])
    placements = sorted(result["placements"])
    outcome = result["outcome"]
    true_positive = outcome["true_positive"]
    precision = true_positive / max(1, true_positive + outcome["false_positive"])
    recall = true_positive / max(1, sum(result["copies"].values()))
    with engine.connect() as connection:
        items = connection.execute(select(Item.id).order_by(Item.id.desc())).first()[0]
        band_bytes = _table_bytes(connection, "item_bands")
    size = sum(
        os.path.getsize(f"{database}{suffix}")
        for suffix in ("", "-wal")
        if os.path.exists(f"{database}{suffix}")
    )
    placed = len(placements)
    print(f"items stored:            {items:,}")
    rate = placed / result["elapsed"]
    print(f"placement rate:          {rate:,.0f} items/s one by one (store, "
          "fingerprint, index, look up, place; commit every 100)")  # fmt: skip
    print(f"placement latency:       median {_ms(statistics.median(placements))}, "
          f"p99 {_ms(_percentile(placements, 99))}")  # fmt: skip
    print(f"look-up latency:         median {_ms(statistics.median(lookups))}, "
          f"p99 {_ms(_percentile(lookups, 99))}, max {_ms(lookups[-1])}")  # fmt: skip
    cpu = result["lookup_cpu"]
    print(f"look-up CPU time:        median {_ms(statistics.median(cpu))}, "
          f"p99 {_ms(_percentile(cpu, 99))} (this thread only, unaffected by "
          "other processes)")  # fmt: skip
    print(f"index on disk:           item_bands {band_bytes / 2**20:,.0f} MiB "
          f"({band_bytes / items:,.0f} bytes per item); whole database "
          f"{size / 2**20:,.0f} MiB")  # fmt: skip
    unrelated = placed - sum(result["copies"].values())
    print(f"new items:               edited copies {dict(result['copies'])}, "
          f"unrelated {unrelated:,}")  # fmt: skip
    print(f"outcome:                 {dict(outcome)}")
    print(f"missed or misplaced:     {dict(result['missed'])}")
    print(f"precision:               {precision:.4f}")
    print(f"recall:                  {recall:.4f}")


def _table_bytes(connection, table: str) -> int:
    try:
        row = connection.execute(
            text("SELECT SUM(pgsize) FROM dbstat WHERE name = :name"), {"name": table}
        ).first()
    except Exception:  # dbstat is a compile-time option of SQLite
        return 0
    return int(row[0] or 0)


def _percentile(values: list[float], percent: float) -> float:
    return float(np.percentile(values, percent))


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


if __name__ == "__main__":
    main()
