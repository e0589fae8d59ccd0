"""Items' regions and topics as stored: what the classifiers decided and what
editors corrected, which wins."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, joinedload

from storage.models import Item, ItemRegionRow, ItemTopicRow

EDITOR = "editor"
# How many waiting items one pass reads, so that a source's first backlog
# does not hold one transaction open for long.
BATCH = 500


@dataclass(frozen=True)
class RegionDecision:
    code: str
    level: str
    country: str | None
    reason: str
    evidence: str
    via: str | None = None


@dataclass(frozen=True)
class TopicDecision:
    slug: str
    score: float
    reason: str
    evidence: tuple[dict[str, Any], ...] = ()


def unclassified_items(
    session: Session, source_id: str | None = None, limit: int = BATCH
) -> list[Item]:
    """Items new or edited since the classifiers last read them, with sources."""
    query = (
        select(Item)
        .options(joinedload(Item.source))
        .where(Item.classified_at.is_(None))
        .order_by(Item.id)
        .limit(limit)
    )
    if source_id is not None:
        query = query.where(Item.source_id == source_id)
    return list(session.scalars(query))


def editor_regions(session: Session, item_id: int) -> list[ItemRegionRow]:
    query = select(ItemRegionRow).where(
        ItemRegionRow.item_id == item_id, ItemRegionRow.reason == EDITOR
    )
    return list(session.scalars(query))


def editor_topics(session: Session, item_id: int) -> list[str] | None:
    """The topics an editor set for the item, or None when no editor did."""
    query = select(ItemTopicRow.slug).where(
        ItemTopicRow.item_id == item_id, ItemTopicRow.reason == EDITOR
    )
    slugs = list(session.scalars(query))
    return slugs or None


def store_classification(
    session: Session,
    item: Item,
    regions: Sequence[RegionDecision],
    topics: Sequence[TopicDecision],
    now: datetime,
) -> None:
    """Replaces what the classifiers had decided for the item.

    An editor's regions stay and the classifiers' are dropped: a correction
    means the rules got it wrong, and they would get it wrong again.
    """
    corrected = editor_regions(session, item.id)
    session.execute(
        delete(ItemRegionRow).where(
            ItemRegionRow.item_id == item.id, ItemRegionRow.reason != EDITOR
        )
    )
    if not corrected:
        session.add_all(
            ItemRegionRow(
                item_id=item.id,
                code=region.code,
                level=region.level,
                country=region.country,
                reason=region.reason,
                evidence=region.evidence[:300],
                via=region.via,
            )
            for region in unique_regions(regions)
        )

    session.execute(delete(ItemTopicRow).where(ItemTopicRow.item_id == item.id))
    session.add_all(
        ItemTopicRow(
            item_id=item.id,
            slug=topic.slug,
            score=topic.score,
            reason=topic.reason,
            evidence=list(topic.evidence),
        )
        for topic in topics
    )
    item.classified_at = now


def item_regions(session: Session, item_id: int) -> list[ItemRegionRow]:
    query = select(ItemRegionRow).where(ItemRegionRow.item_id == item_id)
    return list(session.scalars(query.order_by(ItemRegionRow.code)))


def item_topics(session: Session, item_id: int) -> list[ItemTopicRow]:
    query = select(ItemTopicRow).where(ItemTopicRow.item_id == item_id)
    return list(session.scalars(query.order_by(ItemTopicRow.score.desc())))


def unique_regions(regions: Sequence[RegionDecision]) -> list[RegionDecision]:
    seen: dict[str, RegionDecision] = {}
    for region in regions:
        seen.setdefault(region.code, region)
    return list(seen.values())
