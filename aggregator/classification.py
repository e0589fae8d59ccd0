"""The classify stage: regions and topics of new and edited items.

The classifiers are built once (the region tree takes seconds to load) and
handed to the pipeline, which calls ``classify_waiting_items`` after each
source's items are stored. Editors' corrections stored on an item win over
what the rules decide.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from classifiers.gazetteer import (
    Gazetteer,
    RegionNode,
    build_gazetteer,
    load_gazetteer,
    read_shipped_nodes,
)
from classifiers.regions import (
    ItemRegion,
    RegionClassifier,
    SourcePlace,
    UnknownRegion,
    add_editor_regions,
)
from classifiers.topics import TopicClassifier, TopicResult
from extractors.entry import Entry
from extractors.text import html_to_text
from storage.classification import (
    RegionDecision,
    TopicDecision,
    editor_topics,
    store_classification,
    unclassified_items,
)
from storage.curation import CurationError
from storage.models import Item, Source
from storage.queue import ITEMS_LOCK, hold_lock
from storage.regions import read_regions

logger = logging.getLogger(__name__)

# Enough of an article to find its places and topics; beyond this the words
# are mostly boilerplate, and the cost grows with the length.
TEXT_READ = 6000


@dataclass(frozen=True)
class Classification:
    regions: tuple[ItemRegion, ...]
    topics: TopicResult


@dataclass
class Classifiers:
    """The region and topic classifiers, built once for the whole process."""

    regions: RegionClassifier
    topics: TopicClassifier

    @classmethod
    def load(cls, gazetteer: Gazetteer | None = None) -> Classifiers:
        started = time.perf_counter()
        classifiers = cls(
            RegionClassifier(gazetteer or load_gazetteer()),
            TopicClassifier.from_directory(),
        )
        logger.info(
            "Classifiers loaded",
            extra={
                "regions": len(classifiers.regions.gazetteer.nodes),
                "elapsed_ms": int((time.perf_counter() - started) * 1000),
            },
        )
        return classifiers

    def classify(
        self,
        title: str,
        text: str,
        language: str | None,
        place: SourcePlace,
        categories: tuple[str, ...] = (),
        corrected_topics: list[str] | None = None,
    ) -> Classification:
        text = text[:TEXT_READ]
        regions = self.regions.classify(title, text, language, place)
        topics = self.topics.classify(
            title,
            text,
            language,
            categories,
            place.publisher,
            editor_topics=corrected_topics,
        )
        return Classification(tuple(regions), topics)


def source_place(source: Source) -> SourcePlace:
    return SourcePlace(
        country=source.country,
        region=source.region,
        municipality=source.municipality,
        publisher=source.publisher,
    )


def item_text(item: Item) -> str:
    """The words a reader sees: the full text when there is one."""
    if item.content_html:
        return html_to_text(item.content_html)
    return item.summary or ""


def classify_waiting_items(
    session: Session,
    classifiers: Classifiers,
    now: datetime,
    source_id: str | None = None,
    batches: int | None = None,
) -> int:
    """Classifies every new or edited item (of one source, if given; or
    ``batches`` batches of them) in the caller's transaction; returns how
    many were classified.

    Classifiers and placers take turns across workers, so that two never
    update the same items at once.
    """
    hold_lock(session, ITEMS_LOCK)
    done = 0
    for _ in itertools.repeat(None, batches) if batches else itertools.count():
        waiting = unclassified_items(session, source_id)
        if not waiting:
            return done
        for item in waiting:
            result = classifiers.classify(
                item.title,
                item_text(item),
                item.language,
                source_place(item.source),
                tuple(item.categories or ()),
                editor_topics(session, item.id),
            )
            store_classification(
                session, item, region_decisions(result), topic_decisions(result), now
            )
            done += 1
        session.flush()
    return done


def region_decisions(result: Classification) -> list[RegionDecision]:
    return _decisions(result.regions)


def editor_region_decisions(
    classifiers: Classifiers, codes: Sequence[str], editor: str
) -> list[RegionDecision]:
    """The regions an editor's codes name, with their ancestors, as stored
    corrections; the web app is handed this to check an editor's codes."""
    try:
        found = add_editor_regions(
            [], list(codes), classifiers.regions.gazetteer, editor
        )
    except UnknownRegion as error:
        raise CurationError(str(error)) from error
    return _decisions(found)


def _decisions(regions: Sequence[ItemRegion]) -> list[RegionDecision]:
    return [
        RegionDecision(r.code, r.level, r.country, r.reason, r.evidence, r.via)
        for r in regions
    ]


def topic_decisions(result: Classification) -> list[TopicDecision]:
    scores = {score.slug: score for score in result.topics.scores}
    decisions = []
    for slug in result.topics.topics:
        score = scores.get(slug)
        evidence = tuple(
            {"kind": e.kind, "term": e.term, "matched": e.matched, "weight": e.weight}
            for e in (score.evidence if score else ())
        )
        decisions.append(
            TopicDecision(
                slug, score.score if score else 0.0, result.topics.reason, evidence
            )
        )
    return decisions


def classification_report(
    classifiers: Classifiers, entry: Entry, place: SourcePlace
) -> dict[str, Any]:
    """An entry's regions and topics with what decided each, for ``inspect``."""
    text = entry.summary or html_to_text(entry.content_html)
    result = classifiers.classify(
        entry.title, text, entry.language or None, place, entry.categories
    )
    return {
        "regions": [
            {"code": r.code, "level": r.level, "reason": r.reason,
             "evidence": r.evidence, "via": r.via}
            for r in result.regions
        ],
        "topics": list(result.topics.topics),
        "topic_scores": [
            {"topic": score.slug, "score": round(score.score, 2),
             "evidence": [f"{e.kind}: {e.term} ({e.matched}) +{e.weight:g}"
                          for e in score.evidence]}
            for score in result.topics.scores[:5]
        ],
    }  # fmt: skip


def gazetteer_with_imports(session: Session) -> Gazetteer:
    """The tree as ``aggregator regions import`` left it in the database, or
    the shipped tree when nothing was imported."""
    rows = read_regions(session)
    if not rows:
        return load_gazetteer()
    _shipped, common_words = read_shipped_nodes()
    nodes = [
        RegionNode(
            code=row["code"],
            parent=row["parent"],
            level=row["level"],
            country=row["country"],
            name=row["name"],
            names=tuple(row["names"] or ()),
            population=row["population"],
            replaces=row["replaces"],
        )
        for row in rows
    ]
    return build_gazetteer(nodes, common_words)
