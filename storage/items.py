"""Queries on items: saving entries without duplicates, reading the latest."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, func, insert, or_, select, tuple_
from sqlalchemy.orm import Session, aliased, joinedload

from extractors.entry import Entry
from storage.models import Item, ItemRegionRow, ItemTopicRow
from storage.publication import is_public, source_review


@dataclass(frozen=True)
class SaveResult:
    new: int
    updated: int


def save_entries(
    session: Session,
    source_id: str,
    entries: Sequence[Entry],
    now: datetime,
    backlog: bool = False,
) -> SaveResult:
    """Store ``entries`` of one source as items.

    An entry seen before (same key within the source) updates its item when
    what a reader sees changed and records when; otherwise it is left alone.
    ``backlog`` marks a source's first fetch, whose old items say nothing of
    how quickly the portal picks up news. The caller commits.
    """
    by_key: dict[str, Entry] = {}
    for entry in entries:
        # A feed listing one entry twice keeps the first, as readers saw it.
        by_key.setdefault(entry.key, entry)
    if not by_key:
        return SaveResult(0, 0)

    existing = {
        item.entry_key: item
        for item in session.scalars(
            select(Item).where(
                Item.source_id == source_id, Item.entry_key.in_(list(by_key))
            )
        )
    }

    rows = []
    updated = 0
    for key, entry in by_key.items():
        item = existing.get(key)
        if item is None:
            rows.append(_new_row(source_id, key, entry, now, backlog))
        elif item.content_hash != entry.change_hash:
            for name, value in _values(entry, item.first_seen_at or now, now).items():
                setattr(item, name, value)
            item.changed_at = now
            updated += 1
    if rows:
        # A new item is published, queued for review or held as the source's
        # trust says today.
        review = source_review(session, source_id)
        for row in rows:
            row["review"] = review
        # One multi-row INSERT, not an ORM object per item: a first crawl
        # stores tens of thousands, and the unit of work cost more than the
        # parsing of their feeds.
        session.execute(insert(Item), rows)
    return SaveResult(len(rows), updated)


def stored_hashes(
    session: Session, source_id: str, keys: Iterable[str]
) -> dict[str, str]:
    """The content hash stored for each of ``keys`` the source has an item for."""
    wanted = list(set(keys))
    if not wanted:
        return {}
    rows = session.execute(
        select(Item.entry_key, Item.content_hash).where(
            Item.source_id == source_id, Item.entry_key.in_(wanted)
        )
    )
    return {key: content_hash for key, content_hash in rows}


def unknown_keys(session: Session, source_id: str, keys: Iterable[str]) -> set[str]:
    """The entry keys among ``keys`` that no stored item of the source has."""
    wanted = set(keys)
    if not wanted:
        return set()
    known = session.scalars(
        select(Item.entry_key).where(
            Item.source_id == source_id, Item.entry_key.in_(list(wanted))
        )
    )
    return wanted - set(known)


def _new_row(
    source_id: str, key: str, entry: Entry, now: datetime, backlog: bool
) -> dict[str, Any]:
    row = _values(entry, now, now)
    row.update(source_id=source_id, entry_key=key, first_seen_at=now)
    row["date_known"] = entry.published is not None
    if row["date_known"] and not backlog:
        row["delay_seconds"] = int((now - row["published_at"]).total_seconds())
    return row


def _values(entry: Entry, first_seen_at: datetime, now: datetime) -> dict[str, Any]:
    """The columns of an item that its entry sets."""
    # A missing date is the time the portal first saw the entry; a date in the
    # future (a wrong clock or time zone at the source) would pin the item on
    # top of every page, so it is clamped to now and the source's date noted.
    published = entry.published or first_seen_at
    date_note = None
    if published > now:
        date_note = f"dated {published.isoformat()} by the source, in the future"
    return {
        "guid": entry.guid or None,
        "url": entry.link,
        "title": entry.title,
        "summary": entry.summary,
        "content_html": entry.content_html,
        "authors": list(entry.authors),
        "categories": list(entry.categories),
        "image_url": entry.image or None,
        "language": entry.language or None,
        "entry_updated_at": entry.updated,
        "content_hash": entry.change_hash,
        "canonical_url": entry.extra.get("canonical_url") or None,
        "language_method": entry.extra.get("language_method") or None,
        "published_at": min(published, now),
        "date_note": date_note,
        # New or edited text: the classifiers read the item (again).
        "classified_at": None,
        # New or edited text: dedup fingerprints the item (again) and places it.
        "text_hash": None,
    }


@dataclass(frozen=True)
class Cursor:
    """A position in a newest-first list that new arrivals do not shift."""

    published_at: datetime
    item_id: int

    def encode(self) -> str:
        return f"{int(self.published_at.timestamp() * 1_000_000)}-{self.item_id}"

    @classmethod
    def decode(cls, text: str) -> Cursor | None:
        stamp, _, item_id = text.partition("-")
        if not stamp.isdigit() or not item_id.isdigit():
            return None
        moment = datetime.fromtimestamp(int(stamp) / 1_000_000, tz=UTC)
        return cls(moment, int(item_id))


def latest_items(
    session: Session,
    limit: int = 50,
    before: Cursor | None = None,
    source_id: str | None = None,
    language: str | None = None,
    region: str | None = None,
    topic: str | None = None,
    story_roles: tuple[str, ...] | None = None,
    public: bool = True,
) -> list[Item]:
    """The newest items first, each with its source loaded; only those the
    public may see unless ``public`` is False.

    ``region`` keeps the items of a region and of every region below it: an
    item's regions are stored with their ancestors, so it is one look-up.
    With ``story_roles``, only items in those roles of their stories (and
    items not yet placed in a story); a story then counts as in a region or
    topic when any of its items is.
    """
    query = (
        select(Item)
        .options(joinedload(Item.source))
        .order_by(Item.published_at.desc(), Item.id.desc())
        .limit(limit)
    )
    if public:
        query = query.where(is_public())
    if before is not None:
        query = query.where(
            tuple_(Item.published_at, Item.id) < (before.published_at, before.item_id)
        )
    if source_id is not None:
        query = query.where(Item.source_id == source_id)
    if language is not None:
        query = query.where(Item.language == language)
    if story_roles is not None:
        query = query.where(
            or_(Item.story_role.in_(story_roles), Item.story_role.is_(None))
        )
    if region is not None:
        rows = _Membership(ItemRegionRow, ItemRegionRow.code, region)
        query = query.where(rows.condition(session, story_roles, public))
    if topic is not None:
        rows = _Membership(ItemTopicRow, ItemTopicRow.slug, topic)
        query = query.where(rows.condition(session, story_roles, public))
    return list(session.scalars(query))


@dataclass(frozen=True)
class _Membership:
    """The items filed under one region (or topic): rows of ``table`` whose
    ``key`` column is ``value``."""

    table: type[ItemRegionRow] | type[ItemTopicRow]
    key: Any
    value: str

    def condition(
        self, session: Session, story_roles: tuple[str, ...] | None, public: bool
    ) -> Any:
        """Whether an item (or, with ``story_roles``, any item of its story)
        is filed here, in the query shape that suits how many are.

        A common region or topic (a country) is found fastest by walking the
        newest items and looking each one up, which stops after a page; a
        rare one (a village) by collecting its few items and sorting them.
        """
        if self._is_common(session):
            return self._looked_up(story_roles, public)
        item_ids = select(self.table.item_id).where(self.key == self.value)
        if story_roles is None:
            return Item.id.in_(item_ids)
        member = aliased(Item)
        # A story is in a region through its shown items only: a hidden copy
        # filed elsewhere does not carry the story there.
        stories = select(member.story_id).where(member.id.in_(item_ids))
        if public:
            stories = stories.where(is_public(member))
        return or_(Item.id.in_(item_ids), Item.story_id.in_(stories))

    def _is_common(self, session: Session) -> bool:
        """Whether at least one item in a hundred is filed here; counted on
        the index, no further than that share."""
        share = (session.scalar(select(func.max(Item.id))) or 0) // 100
        if share < _COMMON_LEAST:
            return False
        found = select(self.table.item_id).where(self.key == self.value).limit(share)
        counted = select(func.count()).select_from(found.subquery())
        return (session.scalar(counted) or 0) >= share

    def _looked_up(self, story_roles: tuple[str, ...] | None, public: bool) -> Any:
        filed = (
            select(self.table.item_id)
            .where(self.table.item_id == Item.id, self.key == self.value)
            .exists()
        )
        if story_roles is None:
            return filed
        member = aliased(Item)
        in_story = (
            select(member.id)
            .join(self.table, self.table.item_id == member.id)
            .where(member.story_id == Item.story_id, self.key == self.value)
        )
        if public:
            in_story = in_story.where(is_public(member))
        return or_(filed, in_story.exists())


# Below this many items a region or topic is read by collecting its items.
_COMMON_LEAST = 500


def items_in_region(code: str) -> Select[Any]:
    return select(ItemRegionRow.item_id).where(ItemRegionRow.code == code)


def items_in_topic(slug: str) -> Select[Any]:
    return select(ItemTopicRow.item_id).where(ItemTopicRow.slug == slug)


def publication_times(
    session: Session, source_id: str, limit: int = 10
) -> list[datetime]:
    """When the source's latest dated items were published, newest first."""
    query = (
        select(Item.published_at)
        .where(Item.source_id == source_id, Item.date_known.is_(True))
        .order_by(Item.published_at.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def next_cursor(items: Sequence[Item], limit: int) -> Cursor | None:
    if len(items) < limit:
        return None
    last = items[-1]
    return Cursor(last.published_at, last.id)
