"""How many stories each country and each topic holds, for the home page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, distinct, func, select
from sqlalchemy.orm import Session

from storage.models import Item, ItemRegionRow, ItemTopicRow, Region
from storage.publication import is_public


@dataclass(frozen=True)
class Count:
    """A country (its code and name) or a topic (its slug), and its stories."""

    key: str
    name: str
    stories: int


def stories_by_country(session: Session) -> list[Count]:
    """Every country with news, by name, with how many stories it holds."""
    query = _story_counts(ItemRegionRow.code, ItemRegionRow.item_id).where(
        ItemRegionRow.level == "country"
    )
    counts: dict[str, int] = {row[0]: row[1] for row in session.execute(query)}
    names = {
        code: name
        for code, name in session.execute(
            select(Region.code, Region.name).where(Region.code.in_(list(counts)))
        )
    }
    found = [Count(code, names.get(code, code), n) for code, n in counts.items()]
    return sorted(found, key=lambda count: count.name)


def stories_by_topic(session: Session) -> dict[str, int]:
    """How many stories each topic with news holds, by slug."""
    query = _story_counts(ItemTopicRow.slug, ItemTopicRow.item_id)
    return {row[0]: row[1] for row in session.execute(query)}


def _story_counts(key: Any, item_id: Any) -> Select[Any]:
    # A story counts once in a country or topic, however many of its items
    # are there; an item not placed in a story yet counts as its own story.
    # Limitation: the counts are read from every item on each home page
    # (about 100 ms with 200,000 items on SQLite).
    story = func.coalesce(Item.story_id, -Item.id)
    return (
        select(key, func.count(distinct(story)))
        .join(Item, Item.id == item_id)
        .where(is_public())
        .group_by(key)
    )
