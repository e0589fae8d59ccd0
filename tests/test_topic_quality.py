"""The quality gate of the topic classifier on the labelled set.

Topic micro-F1 over every item of tests/fixtures/classification/*.yaml must
stay at or above the floor. Every fifth item of each file is held out: rules
are not fixed while looking at its failures, and its score is reported apart.
Run this file as a script to print the figures per language.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from classifiers.taxonomy import PUBLISHER_KINDS, load_taxonomy
from classifiers.topics import TopicClassifier
from extractors.language import EU_LANGUAGES

LABELLED = Path(__file__).parent / "fixtures" / "classification"
# Measured when the gate was set (0.929 overall, 0.910 held out), rounded down;
# the floor is 0.80.
FLOOR = 0.92
HELD_OUT_FLOOR = 0.85
ITEM_FIELDS = {"title", "text", "source", "categories", "regions", "topics"}


@dataclass(frozen=True)
class Counts:
    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.true_positives + other.true_positives,
            self.false_positives + other.false_positives,
            self.false_negatives + other.false_negatives,
        )

    @property
    def f1(self) -> float:
        found = 2 * self.true_positives
        total = found + self.false_positives + self.false_negatives
        return found / total if total else 0.0


def labelled_items() -> dict[str, list[dict]]:
    """The labelled items of each language file."""
    return {
        path.stem: yaml.safe_load(path.read_text(encoding="utf-8"))["items"]
        for path in sorted(LABELLED.glob("*.yaml"))
    }


def is_held_out(index: int) -> bool:
    return index % 5 == 4


def measure(classifier: TopicClassifier) -> dict[str, dict[str, Counts]]:
    """Counts per language for all items, the held-out items and the others."""
    figures: dict[str, dict[str, Counts]] = {}
    for language, items in labelled_items().items():
        per_part: dict[str, Counts] = {"all": Counts(), "held_out": Counts()}
        for index, item in enumerate(items):
            result = classifier.classify(
                item["title"],
                item["text"],
                language,
                item["categories"],
                item["source"]["publisher"],
            )
            decided, expected = set(result.topics), set(item["topics"])
            counts = Counts(
                len(decided & expected),
                len(decided - expected),
                len(expected - decided),
            )
            per_part["all"] += counts
            if is_held_out(index):
                per_part["held_out"] += counts
        figures[language] = per_part
    return figures


def total(figures: dict[str, dict[str, Counts]], part: str) -> Counts:
    return sum((parts[part] for parts in figures.values()), Counts())


def report(figures: dict[str, dict[str, Counts]]) -> str:
    lines = [f"{'language':<10}{'items F1':>10}{'held-out F1':>13}"]
    for language, parts in figures.items():
        lines.append(
            f"{language:<10}{parts['all'].f1:>10.3f}{parts['held_out'].f1:>13.3f}"
        )
    lines.append(
        f"{'all':<10}{total(figures, 'all').f1:>10.3f}"
        f"{total(figures, 'held_out').f1:>13.3f}"
    )
    return "\n".join(lines)


@pytest.fixture(scope="module")
def figures() -> dict[str, dict[str, Counts]]:
    return measure(TopicClassifier.from_directory())


def test_labelled_set_is_large_and_well_formed():
    slugs = set(load_taxonomy().slugs)
    items = labelled_items()

    assert sum(len(language_items) for language_items in items.values()) >= 400
    assert len(items) >= 12
    for language, language_items in items.items():
        assert language in EU_LANGUAGES
        for index, item in enumerate(language_items):
            where = f"{language}.yaml item {index + 1}"
            assert set(item) == ITEM_FIELDS, where
            assert item["source"]["publisher"] in PUBLISHER_KINDS, where
            assert 1 <= len(item["topics"]) <= 3, where
            assert set(item["topics"]) <= slugs, where
            assert item["regions"], where


def test_topic_micro_f1_over_the_labelled_set_stays_above_the_floor(figures):
    measured = total(figures, "all").f1

    assert measured >= FLOOR, report(figures)


def test_topic_micro_f1_on_held_out_items_stays_above_its_floor(figures):
    measured = total(figures, "held_out").f1

    assert measured >= HELD_OUT_FLOOR, report(figures)


if __name__ == "__main__":
    print(report(measure(TopicClassifier.from_directory())))
