"""What the publication condition costs the newest-first lists.

Fills a fresh database with ITEMS items, one story each (a share of them
waiting for review, hidden, or in hidden stories), then times the home page's
query and a region's with the condition every public list uses and without
it, and the review queue. Prints the median of REPEAT runs in milliseconds.

    .venv/bin/python -m benchmarks.public_lists [ITEMS] [DATABASE_URL]

Without a URL it runs on SQLite in a temporary folder.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, text, update

from storage.database import make_engine, make_session_factory, upgrade_database
from storage.models import Item, ItemRegionRow, Source, Story
from storage.review import QueueFilter, review_queue
from storage.stories import latest_stories

REPEAT = 15
BATCH = 10_000
START = datetime(2026, 1, 1, tzinfo=UTC)


def fill(url: str, items: int) -> Callable[[], object]:
    engine = make_engine(url)
    upgrade_database(engine)
    sessions = make_session_factory(engine)
    with sessions() as session:
        session.add(
            Source(
                id="s", name="S", kind="feed", url="https://s.example/",
                publisher="municipality", languages=["de"], created_at=START,
                updated_at=START,
            )
        )  # fmt: skip
        session.flush()
        for first in range(1, items + 1, BATCH):
            ids = range(first, min(first + BATCH, items + 1))
            session.execute(
                insert(Story),
                [{"id": n, "headline_item_id": n, "created_at": START,
                  "updated_at": START} for n in ids],
            )  # fmt: skip
            session.execute(insert(Item), [_item(n) for n in ids])
            session.execute(
                insert(ItemRegionRow),
                [{"item_id": n, "code": "AT130" if n % 10 == 0 else "AT221",
                  "level": "nuts3", "country": "AT", "reason": "source",
                  "evidence": "region"} for n in ids],
            )  # fmt: skip
        # One story in a thousand hidden by an editor.
        session.execute(
            update(Story).where(Story.id % 1000 == 7).values(hidden_at=START)
        )
        session.commit()
        if engine.dialect.name == "postgresql":
            # Fresh statistics, as autovacuum would gather after a bulk load.
            session.execute(text("ANALYZE"))
            session.commit()
    return sessions


def _item(n: int) -> dict[str, object]:
    return {
        "id": n, "source_id": "s", "entry_key": str(n), "url": f"https://s/{n}",
        "title": f"Item {n}", "published_at": START + timedelta(minutes=n),
        "first_seen_at": START, "content_hash": str(n), "story_id": n,
        "story_role": "headline", "language": "de",
        # One item in twenty waits for review, one in a hundred is hidden.
        "review": "pending" if n % 20 == 3 else "published",
        "hidden_at": START if n % 100 == 5 else None,
    }  # fmt: skip


def median_ms(run: Callable[[], object]) -> float:
    run()
    times = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    items = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    with tempfile.TemporaryDirectory() as folder:
        url = sys.argv[2] if len(sys.argv) > 2 else f"sqlite:///{Path(folder) / 'b.db'}"
        sessions = fill(url, items)
        with sessions() as session:
            cases = {
                "home, public": lambda: latest_stories(session, 30),
                "home, everything": lambda: latest_stories(session, 30, public=False),
                "region AT130, public": lambda: latest_stories(
                    session, 30, region="AT130"
                ),
                "region AT130, everything": lambda: latest_stories(
                    session, 30, region="AT130", public=False
                ),
                "review queue": lambda: review_queue(session, QueueFilter()),
            }
            print(f"{items:,} items on {make_engine(url).dialect.name}")
            for name, run in cases.items():
                print(f"{name:28} {median_ms(run):8.2f} ms")


if __name__ == "__main__":
    main()
