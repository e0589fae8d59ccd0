"""Editors' curation of items and stories: hiding, featuring, corrected titles
and corrected regions and topics.

Each function changes rows in the caller's transaction and returns what the
audit log records as before and after; none deletes what cannot be rebuilt:
a hidden item or story stays stored, an ended feature keeps its row, the
source's title stays beside its correction, and the classifiers' regions and
topics that a correction replaces are the rules' output, read again from the
item's text whenever the correction is withdrawn.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, joinedload

from storage.classification import EDITOR, RegionDecision, unique_regions
from storage.models import Feature, Item, ItemRegionRow, ItemTopicRow, Story
from storage.publication import is_public

HOME = "home"
# The regions an editor's codes stand for, with their ancestors, as the
# classifiers would store them; raises CurationError for an unknown code.
RegionResolver = Callable[[Sequence[str], str], list[RegionDecision]]
State = dict[str, Any]


class CurationError(Exception):
    """An editor's change that cannot be made as asked; the message says why
    and what to do."""


def set_hidden(
    session: Session, subject: Item | Story, hidden: bool, now: datetime
) -> tuple[State, State]:
    """Hide an item or a whole story from the public, or show it again."""
    before = {"hidden_at": subject.hidden_at}
    if hidden:
        subject.hidden_at = subject.hidden_at or now
    else:
        subject.hidden_at = None
    session.flush()
    return before, {"hidden_at": subject.hidden_at}


def correct_title(session: Session, item: Item, title: str) -> tuple[State, State]:
    """Show ``title`` instead of the source's; an empty one withdraws the
    correction. The source's title is kept as it came."""
    title = " ".join(title.split())
    if len(title) > 500:
        raise CurationError("A title has at most 500 characters; shorten it.")
    before = {"corrected_title": item.corrected_title, "title": item.title}
    item.corrected_title = title if title and title != item.title else None
    session.flush()
    return before, {"corrected_title": item.corrected_title, "title": item.title}


def feature_story(
    session: Session,
    story_id: int,
    place: str,
    until: datetime,
    editor: str,
    now: datetime,
) -> Feature:
    """Show the story in the Featured block of ``place`` ("home" or a
    region code) until ``until``."""
    if until <= now:
        raise CurationError("A feature ends in the future; choose a later date.")
    if session.get(Story, story_id) is None:
        raise CurationError(f"No story {story_id} to feature.")
    feature = Feature(
        story_id=story_id, place=place, until=until, created_at=now, created_by=editor
    )
    session.add(feature)
    session.flush()
    return feature


def end_feature(session: Session, feature: Feature, now: datetime) -> None:
    """Stop showing a feature now; the row stays as the record of it."""
    feature.ended_at = feature.ended_at or now
    session.flush()


def story_features(session: Session, story_id: int, now: datetime) -> list[Feature]:
    """The story's features still running, soonest ending first."""
    query = (
        select(Feature)
        .where(
            Feature.story_id == story_id,
            Feature.until > now,
            Feature.ended_at.is_(None),
        )
        .order_by(Feature.until, Feature.id)
    )
    return list(session.scalars(query))


def featured_stories(
    session: Session, place: str, now: datetime, limit: int = 5
) -> list[Item]:
    """The stories featured on ``place`` now, newest feature first, each as
    its headline (with its source) when the public may see it."""
    running = (
        select(Feature.story_id)
        .where(Feature.place == place, Feature.until > now, Feature.ended_at.is_(None))
        .order_by(Feature.created_at.desc(), Feature.id.desc())
    )
    order = list(dict.fromkeys(session.scalars(running.limit(limit * 4))))
    if not order:
        return []
    query = (
        select(Item)
        .options(joinedload(Item.source))
        .join(Story, Story.headline_item_id == Item.id)
        .where(Story.id.in_(order), is_public())
    )
    found = {item.story_id: item for item in session.scalars(query)}
    return [found[story] for story in order if story in found][:limit]


def set_item_regions(
    session: Session, item: Item, regions: Sequence[RegionDecision]
) -> tuple[State, State]:
    """Make ``regions`` (an editor's codes with their ancestors) the item's
    regions; they win over the classifiers from now on. An empty list
    withdraws the correction: the classifiers read the item again."""
    before = {"regions": _region_codes(session, item.id)}
    session.execute(delete(ItemRegionRow).where(ItemRegionRow.item_id == item.id))
    session.add_all(
        ItemRegionRow(
            item_id=item.id, code=region.code, level=region.level,
            country=region.country, reason=EDITOR, evidence=region.evidence[:300],
            via=region.via,
        )
        for region in unique_regions(regions)
    )  # fmt: skip
    if not regions:
        # Limitation: until the classify stage runs after the next crawl, an
        # item whose correction was withdrawn is in no region at all.
        item.classified_at = None
    session.flush()
    return before, {"regions": _region_codes(session, item.id)}


def set_item_topics(
    session: Session, item: Item, slugs: Sequence[str], known: Sequence[str]
) -> tuple[State, State]:
    """Make ``slugs`` the item's topics, kept over the classifiers from now on;
    none withdraws the correction: the classifiers read the item again."""
    unknown = [slug for slug in slugs if slug not in known]
    if unknown:
        raise CurationError(
            f"Unknown topic {', '.join(unknown)}; the topics are {', '.join(known)}."
        )
    before = {"topics": _topic_slugs(session, item.id)}
    session.execute(delete(ItemTopicRow).where(ItemTopicRow.item_id == item.id))
    session.add_all(
        ItemTopicRow(
            item_id=item.id, slug=slug, score=0.0, reason=EDITOR,
            evidence=[{"kind": "editor", "term": slug, "matched": "", "weight": 0.0}],
        )
        for slug in dict.fromkeys(slugs)
    )  # fmt: skip
    if not slugs:
        item.classified_at = None
    session.flush()
    return before, {"topics": _topic_slugs(session, item.id)}


def reclassify_source_items(session: Session, source_id: str) -> None:
    """Have the classifiers read the source's items again (its place changed);
    editors' corrections stay."""
    # Limitation: the items move when the classify stage runs after the next
    # crawl, not at once: the web process holds no classifiers.
    session.execute(
        update(Item).where(Item.source_id == source_id).values(classified_at=None),
        execution_options={"synchronize_session": False},
    )


@dataclass(frozen=True)
class ItemView:
    """An item for an editor: the item, its regions and topics with reasons."""

    item: Item
    regions: list[ItemRegionRow]
    topics: list[ItemTopicRow]


def item_views(session: Session, items: Sequence[Item]) -> list[ItemView]:
    """The regions and topics of many items in two queries."""
    ids = [item.id for item in items]
    regions: dict[int, list[ItemRegionRow]] = {i: [] for i in ids}
    topics: dict[int, list[ItemTopicRow]] = {i: [] for i in ids}
    if ids:
        region_rows = select(ItemRegionRow).where(ItemRegionRow.item_id.in_(ids))
        for row in session.scalars(region_rows.order_by(ItemRegionRow.code)):
            regions[row.item_id].append(row)
        topic_rows = select(ItemTopicRow).where(ItemTopicRow.item_id.in_(ids))
        for row in session.scalars(topic_rows.order_by(ItemTopicRow.score.desc())):
            topics[row.item_id].append(row)
    return [ItemView(item, regions[item.id], topics[item.id]) for item in items]


def _region_codes(session: Session, item_id: int) -> list[str]:
    query = select(ItemRegionRow.code).where(ItemRegionRow.item_id == item_id)
    return sorted(session.scalars(query))


def _topic_slugs(session: Session, item_id: int) -> list[str]:
    query = select(ItemTopicRow.slug).where(ItemTopicRow.item_id == item_id)
    return sorted(session.scalars(query))
