"""Dedup: every item joins the story of the release it is a copy of.

The evidence, strongest first:

1. the same canonical address (one article reached twice);
2. the same normalised text, published within the window;
3. a near copy: an item of another source sharing a MinHash band with it,
   published within the window, whose shingles have a Jaccard similarity of
   at least the threshold (checked exactly, not estimated);
4. a language version: the same release reference (IP/26/1234) or the same
   address but for its language.

An item that matches nothing starts a story of its own. Stories an editor
split the item out of are never joined again, and items of stories an editor
split or merged stay where the editor left them.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from aggregator.fingerprints import (
    Fingerprint,
    band_hashes,
    estimated_similarity,
    fingerprint,
    jaccard,
    normalise_words,
    shingles,
)
from aggregator.settings import Settings
from aggregator.versions import language_key, release_reference
from extractors.text import html_to_text
from storage.models import Item
from storage.queue import ITEMS_LOCK, hold_lock
from storage.stories import (
    Candidate,
    Keys,
    is_locked,
    items_sharing_bands,
    items_sharing_keys,
    place_item,
    replace_bands,
    split_away_from,
    window,
)

logger = logging.getLogger(__name__)

# Signatures estimate similarity with a standard error near 0.06 at 64
# permutations; candidates estimated this far below the threshold are not
# worth reading and checking exactly.
_ESTIMATE_MARGIN = 0.25
# Stories whose closest member is confirmed by the exact similarity.
_STORIES_CONFIRMED = 8


@dataclass(frozen=True)
class StoryMatch:
    """The story an item belongs to and why."""

    story_id: int
    reason: str
    similarity: float = 1.0


def item_text(title: str, summary: str, content_html: str) -> str:
    """The text dedup compares: the title and the fullest body the item has."""
    body = html_to_text(content_html) if content_html else ""
    return f"{title}\n{body or summary}"


def assign_stories(
    session: Session, source_id: str, settings: Settings, now: datetime
) -> int:
    """Place every item of the source that dedup has not seen since it changed.

    The save path empties ``text_hash`` of new and edited items; returns how
    many items were placed. The caller commits.
    """
    pending = list(
        session.scalars(
            select(Item)
            .where(Item.source_id == source_id, Item.text_hash.is_(None))
            .order_by(Item.published_at, Item.id)
        )
    )
    for item in pending:
        assign_story(session, item, settings, now)
    return len(pending)


def place_waiting_items(
    session: Session,
    settings: Settings,
    now: datetime,
    batch: int = 500,
    batches: int | None = None,
) -> int:
    """Place every item of any source that dedup has not seen since it
    changed (or ``batches`` batches of them), oldest first so that
    originals come before their copies.

    Runs after a crawl rather than inside it, in batches that the caller's
    transaction flushes; returns how many items were placed.

    Placers take turns, however many workers run them: two copies of one
    release stored at the same moment by two workers, each placed by its
    own placer, would each find no story yet (neither sees the other's
    uncommitted one) and start two. The second placer waits for the first
    to commit and then sees its stories. Classifiers take the same turns, as
    both update the same items and would otherwise deadlock.
    """
    hold_lock(session, ITEMS_LOCK)
    placed = 0
    for _ in itertools.repeat(None, batches) if batches else itertools.count():
        pending = list(
            session.scalars(
                select(Item)
                .where(Item.text_hash.is_(None))
                .order_by(Item.published_at, Item.id)
                .limit(batch)
            )
        )
        if not pending:
            return placed
        for item in pending:
            assign_story(session, item, settings, now)
        placed += len(pending)
        session.flush()
    return placed


def assign_story(
    session: Session, item: Item, settings: Settings, now: datetime
) -> int:
    """Fingerprint ``item``, index it and put it into its story; the story id."""
    text = item_text(item.title, item.summary, item.content_html)
    url = item.canonical_url or item.url
    found = fingerprint(text, settings.dedup_shingle_words, settings.dedup_permutations)
    indexed = found.words >= settings.dedup_min_words

    old_bands = band_hashes(item.minhash, settings.dedup_bands) if item.minhash else []
    item.text_hash = found.text_hash
    item.minhash = found.minhash if indexed else None
    item.release_ref = release_reference(url, text)
    item.language_key = language_key(url)
    new_bands = found.bands(settings.dedup_bands) if indexed else []
    replace_bands(session, item.id, old_bands, new_bands)

    if is_locked(session, item.story_id):
        return place_item(session, item, item.story_id, now)

    match = find_story(session, item, found, settings)
    if match is not None:
        logger.debug(
            "Item joins a story",
            extra={
                "item_id": item.id,
                "story_id": match.story_id,
                "reason": match.reason,
                "similarity": round(match.similarity, 3),
            },
        )
    return place_item(session, item, match.story_id if match else None, now)


def find_story(
    session: Session, item: Item, found: Fingerprint, settings: Settings
) -> StoryMatch | None:
    """The story ``item`` (already fingerprinted) belongs to, if any."""
    session.flush()
    indexed = found.words >= settings.dedup_min_words
    published = window(item.published_at, settings.dedup_window_days)
    keys = Keys(
        item.id,
        item.canonical_url or item.url,
        found.text_hash if indexed else None,
        item.release_ref,
        item.language_key,
    )
    exact = items_sharing_keys(session, keys)
    near = []
    if indexed:
        near = items_sharing_bands(
            session, found.bands(settings.dedup_bands), item.id, published
        )
    if not exact and not near:
        return None

    excluded = split_away_from(session, item.id)
    exact = [each for each in exact if each.story_id not in excluded]
    near = [
        each
        for each in near
        if each.story_id not in excluded and each.source_id != item.source_id
    ]

    same_url = [each for each in exact if each.canonical_url == keys.canonical_url]
    same_text = [
        each
        for each in exact
        if keys.text_hash
        and each.text_hash == keys.text_hash
        and published[0] <= each.published_at <= published[1]
    ]
    versions = [
        each
        for each in exact
        if (keys.release_ref and each.release_ref == keys.release_ref)
        or (keys.language_key and each.language_key == keys.language_key)
    ]
    return (
        _first(same_url, "canonical_url")
        or _first(same_text, "text_hash")
        or _closest_copy(session, found, near, settings)
        or _first(versions, "language_version")
    )


def _first(candidates: list[Candidate], reason: str) -> StoryMatch | None:
    for candidate in candidates:
        if candidate.story_id is not None:
            return StoryMatch(candidate.story_id, reason)
    return None


def _closest_copy(
    session: Session,
    found: Fingerprint,
    candidates: list[Candidate],
    settings: Settings,
) -> StoryMatch | None:
    threshold = settings.dedup_threshold
    # Copies of one story are alike: confirming its closest member by the
    # estimate decides for the story, and the closest few stories decide
    # for the item, so a large story costs one text, not one per copy.
    closest: dict[int, tuple[float, Candidate]] = {}
    for each in candidates:
        if each.minhash is None or each.story_id is None:
            continue
        estimate = estimated_similarity(found.minhash, each.minhash)
        if estimate < threshold - _ESTIMATE_MARGIN:
            continue
        if each.story_id not in closest or estimate > closest[each.story_id][0]:
            closest[each.story_id] = (estimate, each)
    likely = sorted(closest.values(), key=lambda pair: pair[0], reverse=True)

    best: StoryMatch | None = None
    for _estimate, candidate in likely[:_STORIES_CONFIRMED]:
        stored = session.get(Item, candidate.item_id)
        if stored is None or candidate.story_id is None:
            continue
        text = item_text(stored.title, stored.summary, stored.content_html)
        words = normalise_words(text)
        similarity = jaccard(
            found.shingles, shingles(words, settings.dedup_shingle_words)
        )
        if similarity >= threshold and (best is None or similarity > best.similarity):
            best = StoryMatch(candidate.story_id, "near_copy", similarity)
    return best
