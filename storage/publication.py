"""What the public may see: an item's review state from its source's trust,
and the one SQL condition every public list, page, feed and API uses.

An item is shown when its review state is published (its source is trusted,
or an editor approved it), no editor hid it, and no editor hid its story.
Every public query adds ``is_public()``; a query over an alias of the items
table passes the alias.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session, aliased

from storage.models import Item, Source, Story

PUBLISHED, PENDING, REJECTED, HELD = "published", "pending", "rejected", "held"
REVIEW_STATES = (PUBLISHED, PENDING, REJECTED, HELD)
TRUST_LEVELS = ("trusted", "new", "held")
_REVIEW_OF_TRUST = {"trusted": PUBLISHED, "new": PENDING, "held": HELD}


def is_public(item: Any = Item) -> Any:
    """The SQL condition that an item (``Item`` or an alias of it) is shown."""
    story = aliased(Story)
    hidden_story = exists(
        select(story.id)
        .where(story.id == item.story_id, story.hidden_at.is_not(None))
        .correlate_except(story)
    )
    return (item.review == PUBLISHED) & item.hidden_at.is_(None) & ~hidden_story


def is_shown(item: Item) -> bool:
    """The same as ``is_public`` for a loaded item, but for its story's state."""
    return item.review == PUBLISHED and item.hidden_at is None


def review_for_trust(trust: str | None) -> str:
    """The state a new item of a source with ``trust`` starts in."""
    # An unknown trust publishes nothing: a typo must not publish a source.
    return _REVIEW_OF_TRUST.get(trust or "trusted", HELD)


def source_review(session: Session, source_id: str) -> str:
    trust = session.scalar(select(Source.trust).where(Source.id == source_id))
    return review_for_trust(trust)


def apply_trust(session: Session, source_id: str, trust: str) -> list[int]:
    """Give the source's items that no editor decided on the state ``trust``
    means; returns the stories whose items changed, for their headlines to be
    chosen again. The caller commits."""
    review = review_for_trust(trust)
    undecided = (
        Item.source_id == source_id,
        Item.reviewed_at.is_(None),
        Item.review != review,
    )
    stories = set(
        session.scalars(
            select(Item.story_id).where(*undecided, Item.story_id.is_not(None))
        )
    )
    session.execute(
        update(Item).where(*undecided).values(review=review),
        execution_options={"synchronize_session": False},
    )
    session.expire_all()
    return sorted(stories)


def decide_review(
    session: Session, item_ids: list[int], decision: str, editor: str, now: datetime
) -> list[Item]:
    """An editor's approval (published) or rejection of items; returns the
    items as changed. The caller refreshes their stories and commits."""
    if decision not in (PUBLISHED, REJECTED):
        raise ValueError(f"a review decision is {PUBLISHED} or {REJECTED}")
    items = list(
        session.scalars(select(Item).where(Item.id.in_(item_ids)).order_by(Item.id))
    )
    for item in items:
        item.review = decision
        item.reviewed_at = now
        item.reviewed_by = editor
    session.flush()
    return items
