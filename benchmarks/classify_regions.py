"""Time the region classifier per item with the full tree loaded.

Items are the labelled set's (tests/fixtures/classification/), repeated to
at least 2,000 classifications, plus long texts made by joining them. Prints
the tree's load time and memory, and mean and p99 milliseconds per item.

Run: .venv/bin/python benchmarks/classify_regions.py
"""

from __future__ import annotations

import gc
import resource
import statistics
import sys
import time
from pathlib import Path

import yaml

from classifiers.gazetteer import load_gazetteer
from classifiers.inflection import FAMILIES
from classifiers.regions import RegionClassifier, SourcePlace

FAMILIES_USED = sorted({None, *FAMILIES.values()}, key=str)
LABELLED = Path(__file__).resolve().parent.parent / "tests/fixtures/classification"


def read_items() -> list[tuple[str, dict]]:
    items = []
    for path in sorted(LABELLED.glob("*.yaml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        items += [(path.stem, item) for item in document.get("items", [])]
    return items


def main() -> int:
    items = read_items()
    if not items:
        print("no labelled items to classify", file=sys.stderr)
        return 1

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    gazetteer = load_gazetteer()
    classifier = RegionClassifier(gazetteer)
    loaded = time.perf_counter() - started
    for family in FAMILIES_USED:
        classifier.index_for(family)
    indexed = time.perf_counter() - started
    # Peak resident memory grows by what the tree and its indexes hold.
    memory = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    print(
        f"tree: {len(gazetteer.nodes)} nodes, loaded in {loaded:.2f} s; "
        f"with the name indexes of all {len(FAMILIES_USED)} language families "
        f"in {indexed:.2f} s; memory +{memory / 1024:.0f} MB (peak RSS)"
    )

    # Long items: the texts of ten labelled items of one language together.
    runs = []
    for i in range(0, len(items) - 10, 10):
        lang = items[i][0]
        group = [item for code, item in items[i : i + 10] if code == lang]
        text = " ".join(item["text"] for item in group)
        runs.append((lang, {**group[0], "text": text}))
    workload = (items + runs) * max(1, 2000 // (len(items) + len(runs)))

    # The tree lives as long as the process: frozen, the collector stops
    # walking its millions of objects on every full collection.
    if "--no-freeze" not in sys.argv:
        gc.freeze()
    timings = []
    for lang, item in workload:
        source = SourcePlace(**item["source"])
        begin = time.perf_counter()
        classifier.classify(item["title"], item["text"], lang, source)
        timings.append((time.perf_counter() - begin) * 1000)
    timings.sort()
    p99 = timings[int(len(timings) * 0.99)]
    mean = statistics.mean(timings)
    print(
        f"classified {len(timings)} items: mean {mean:.3f} ms, p99 {p99:.3f} ms, "
        f"max {timings[-1]:.3f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
