"""Time `aggregator regions import` of 80,000 municipalities, twice.

Generates a synthetic LAU table (invented names under the real NUTS 3 codes),
imports it into a fresh SQLite database (or the URL given), then imports it
again, which must change nothing. Prints seconds for each import.

Run: .venv/bin/python benchmarks/import_regions.py [--rows N] [--database URL]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from lau_tables import lau_csv, lau_rows

from aggregator.regions_import import import_regions
from storage.database import (
    make_engine,
    make_session_factory,
    upgrade_database,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=80_000)
    parser.add_argument("--database", help="database URL (default: temporary SQLite)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        url = args.database or f"sqlite:///{folder}/regions.db"
        engine = make_engine(url)
        upgrade_database(engine)
        sessions = make_session_factory(engine)
        data = lau_csv(lau_rows(args.rows))
        print(f"LAU table: {args.rows} rows, {len(data) / 1e6:.1f} MB; database {url}")

        for run in ("first", "second"):
            started = time.perf_counter()
            with sessions() as session:
                report = import_regions(session, lau=("lau.csv", data))
            seconds = time.perf_counter() - started
            changes = report.changes
            print(
                f"{run} import: {seconds:.1f} s, {changes.added} added, "
                f"{changes.changed} changed, {changes.unchanged} unchanged"
            )
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
