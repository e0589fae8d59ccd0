"""The stories a digest run can send, read once per run and matched per
subscription in memory.

A story is new in a window when the first of its items reached the portal
in it: a copy arriving later does not announce an old story again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from storage.models import Item, ItemRegionRow, ItemTopicRow, Source
from storage.publication import is_public
from storage.stories import HEADLINE, VERSION

_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")
_CHUNK = 2000
SUMMARY_CHARACTERS = 280


@dataclass(frozen=True, slots=True)
class StoryText:
    """One language version of a story as a digest shows it."""

    item_id: int
    title: str
    summary: str
    url: str
    language: str | None
    source: str
    published_at: datetime


@dataclass(slots=True)
class StoryCard:
    story_id: int
    first_seen: datetime
    headline: StoryText
    versions: dict[str, StoryText] = field(default_factory=dict)
    regions: set[str] = field(default_factory=set)
    # Slugs, the best-scored first.
    topics: list[str] = field(default_factory=list)

    def text_for(self, locale: str, languages: Sequence[str]) -> StoryText:
        """The version in the reader's language, else one in a language they
        asked for, else the headline."""
        for language in (locale, *languages):
            if language in self.versions:
                return self.versions[language]
        return self.headline

    def languages(self) -> set[str]:
        return set(self.versions)


def digest_cutoff(session: Session, now: datetime) -> datetime:
    """Where a run's window ends: now, or earlier while an item stored in the
    last day still waits for dedup or the classifiers, so that no story is
    left out of every digest for lacking its story or regions at run time."""
    waiting = session.scalar(
        select(func.min(Item.first_seen_at)).where(
            Item.first_seen_at > now - timedelta(days=1),
            or_(Item.classified_at.is_(None), Item.story_id.is_(None)),
        )
    )
    return min(now, waiting) if waiting is not None else now


def load_story_cards(
    session: Session, start: datetime, cutoff: datetime
) -> list[StoryCard]:
    """The stories whose first item was stored in [start, cutoff), with their
    headline, language versions, regions (with ancestors) and topics."""
    touched = select(Item.story_id).where(
        Item.first_seen_at >= start,
        Item.first_seen_at < cutoff,
        Item.story_id.is_not(None),
    )
    query = (
        select(Item.story_id, func.min(Item.first_seen_at))
        .where(Item.story_id.in_(touched))
        .group_by(Item.story_id)
        .having(func.min(Item.first_seen_at) >= start)
    )
    firsts: dict[int, datetime] = {
        story_id: first
        for story_id, first in session.execute(query)
        if story_id is not None
    }
    cards: dict[int, StoryCard] = {}
    for chunk in _chunks(sorted(firsts)):
        _read_texts(session, chunk, firsts, cards)
        _read_regions(session, chunk, cards)
        _read_topics(session, chunk, cards)
    return sorted(
        cards.values(), key=lambda card: (card.headline.published_at, card.story_id)
    )


def _read_texts(
    session: Session,
    story_ids: list[int],
    firsts: dict[int, datetime],
    cards: dict[int, StoryCard],
) -> None:
    query = (
        select(
            Item.id,
            Item.story_id,
            Item.story_role,
            Item.title,
            Item.corrected_title,
            Item.summary,
            Item.url,
            Item.language,
            Source.name,
            Item.published_at,
        )
        .join(Source, Source.id == Item.source_id)
        .where(
            Item.story_id.in_(story_ids),
            Item.story_role.in_((HEADLINE, VERSION)),
            # What an editor held back, hid or has not approved yet is in
            # no digest; a corrected title is the one shown.
            is_public(),
        )
        .order_by(Item.story_role)
    )
    for row in session.execute(query):
        text = StoryText(
            row.id, _SPACE.sub(" ", row.corrected_title or row.title).strip(),
            short_summary(row.summary),
            row.url, row.language, row.name, row.published_at,
        )  # fmt: skip
        card = cards.get(row.story_id)
        if row.story_role == HEADLINE:
            card = StoryCard(row.story_id, firsts[row.story_id], text)
            cards[row.story_id] = card
        if card is not None and text.language:
            card.versions.setdefault(text.language, text)


def _read_regions(
    session: Session, story_ids: list[int], cards: dict[int, StoryCard]
) -> None:
    query = (
        select(Item.story_id, ItemRegionRow.code)
        .join(Item, Item.id == ItemRegionRow.item_id)
        .where(Item.story_id.in_(story_ids), is_public())
    )
    for story_id, code in session.execute(query):
        if story_id in cards:
            cards[story_id].regions.add(code)


def _read_topics(
    session: Session, story_ids: list[int], cards: dict[int, StoryCard]
) -> None:
    query = (
        select(Item.story_id, ItemTopicRow.slug, func.max(ItemTopicRow.score))
        .join(Item, Item.id == ItemTopicRow.item_id)
        .where(Item.story_id.in_(story_ids), is_public())
        .group_by(Item.story_id, ItemTopicRow.slug)
    )
    scored: dict[int, list[tuple[float, str]]] = {}
    for story_id, slug, score in session.execute(query):
        if story_id is not None:
            scored.setdefault(story_id, []).append((-score, slug))
    for story_id, topics in scored.items():
        if story_id in cards:
            cards[story_id].topics = [slug for _, slug in sorted(topics)]


def short_summary(text: str | None, limit: int = SUMMARY_CHARACTERS) -> str:
    """Plain text of a summary, cut at a word before ``limit`` characters."""
    plain = _SPACE.sub(" ", _TAG.sub(" ", text or "")).strip()
    if len(plain) <= limit:
        return plain
    return plain[:limit].rsplit(" ", 1)[0].rstrip(",;:.") + "…"


class StoryIndex:
    """The run's stories by region, to find a subscription's in a few steps."""

    def __init__(self, cards: Iterable[StoryCard]) -> None:
        # Oldest first, so that a region's list is already in digest order.
        self.cards = sorted(
            cards, key=lambda card: (card.headline.published_at, card.story_id)
        )
        self._by_region: dict[str, list[StoryCard]] = {}
        for card in self.cards:
            for code in card.regions:
                self._by_region.setdefault(code, []).append(card)

    def matching(
        self,
        regions: Sequence[str],
        topics: Sequence[str],
        languages: Sequence[str],
        since: datetime,
    ) -> list[StoryCard]:
        """Stories new since ``since`` in any of ``regions`` (or below), on
        one of ``topics`` and with a version in one of ``languages`` (empty:
        any), oldest first."""
        found: dict[int, StoryCard] = {}
        wanted_topics = set(topics)
        wanted_languages = set(languages)
        for code in regions:
            for card in self._by_region.get(code, ()):
                if card.first_seen < since or card.story_id in found:
                    continue
                if wanted_topics and wanted_topics.isdisjoint(card.topics):
                    continue
                if wanted_languages and wanted_languages.isdisjoint(card.versions):
                    continue
                found[card.story_id] = card
        if len(regions) == 1:
            return list(found.values())
        return sorted(
            found.values(), key=lambda card: (card.headline.published_at, card.story_id)
        )


def _chunks(values: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]
