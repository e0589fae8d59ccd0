"""How long classifying one item's topics takes.

Builds the classifier from the shipped taxonomy once, then classifies the
labelled set (tests/fixtures/classification) repeated to about 10,000 items,
timing each call, and prints the build time, the mean and the 99th percentile;
then the same for items whose text is repeated 20 times, about the length of a
full article (600-800 words), since feeds often carry the whole text.

    .venv/bin/python benchmarks/classify_topics.py [--items 10000]

Timings depend on what else the machine runs; compare figures from one run.
"""

import argparse
import statistics
import time
from pathlib import Path

import yaml

from classifiers.topics import TopicClassifier

LABELLED = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "classification"


def load_items() -> list[tuple[str, dict]]:
    """(language, item) for every labelled item."""
    items: list[tuple[str, dict]] = []
    for path in sorted(LABELLED.glob("*.yaml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        items.extend((path.stem, item) for item in document["items"])
    return items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    arguments = parser.parse_args()

    started = time.perf_counter()
    classifier = TopicClassifier.from_directory()
    build_ms = (time.perf_counter() - started) * 1000

    items = load_items()
    rounds = max(1, round(arguments.items / len(items)))
    rule_sets = classifier.taxonomy.rule_sets
    rules = sum(len(rule_set.rules) for rule_set in rule_sets.values())
    print(f"rules: {rules} in {len(rule_sets)} languages")
    print(f"build: {build_ms:.0f} ms (load and compile, once per process)")

    for label, text_copies, item_rounds in (
        ("items as labelled", 1, rounds),
        ("texts x20 (article length)", 20, max(1, rounds // 10)),
    ):
        timings = time_items(classifier, items, item_rounds, text_copies)
        print(f"{label}: {len(timings)} items ({len(items)} x {item_rounds})")
        print(f"  mean: {statistics.fmean(timings):.3f} ms per item")
        print(f"  p99:  {percentile(timings, 0.99):.3f} ms per item")


def time_items(
    classifier: TopicClassifier,
    items: list[tuple[str, dict]],
    rounds: int,
    text_copies: int,
) -> list[float]:
    """Milliseconds of each classify call over the items, rounds times."""
    timings = []
    for _ in range(rounds):
        for language, item in items:
            text = " ".join([item["text"]] * text_copies)
            started = time.perf_counter()
            classifier.classify(
                item["title"],
                text,
                language,
                item["categories"],
                item["source"]["publisher"],
            )
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


if __name__ == "__main__":
    main()
