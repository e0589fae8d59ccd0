"""Queries on stories: finding an item's copies, keeping headlines, editors'
splits and merges, and the newest stories for feeds.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.orm import Session, defer, joinedload

from storage.items import Cursor, latest_items
from storage.models import Item, ItemBand, Source, Story, StoryDecision
from storage.publication import is_public, is_shown

HEADLINE, VERSION, COPY = "headline", "version", "copy"
# Who issues releases, first: a tie on the date goes to the institution.
_AUTHORITY = {"eu_institution": 0, "national": 1, "region": 2, "municipality": 3}
_TAG = re.compile(r"<[^>]*>")
_WORD = re.compile(r"\w+")
_ACCENT = re.compile(r"[\u0300-\u036f]")
# Limitation: a headline and language versions are chosen among a story's
# 200 earliest items; a later item of a larger story is always a copy, even
# in a language the story had no version in yet.
_MEMBERS_READ = 200
# Items whose named sources a session keeps at most before it starts over.
_TEXTS_KEPT = 5000


class StoryError(Exception):
    """An editor's split or merge that cannot be done as asked."""


@dataclass(frozen=True)
class Candidate:
    """A stored item that may be a copy of the one being placed."""

    item_id: int
    story_id: int | None
    source_id: str
    published_at: datetime
    minhash: bytes | None
    canonical_url: str | None
    text_hash: str | None
    release_ref: str | None
    language_key: str | None


@dataclass(frozen=True)
class Keys:
    """What identifies an item's release exactly; None where it has no such key."""

    item_id: int
    canonical_url: str
    text_hash: str | None
    release_ref: str | None
    language_key: str | None


_ITEMS = Item.__table__.c
_BANDS = ItemBand.__table__.c
_CANDIDATE = (
    _ITEMS.id, _ITEMS.story_id, _ITEMS.source_id, _ITEMS.published_at,
    _ITEMS.minhash, _ITEMS.canonical_url, _ITEMS.text_hash, _ITEMS.release_ref,
    _ITEMS.language_key,
)  # fmt: skip


def items_sharing_keys(session: Session, keys: Keys) -> list[Candidate]:
    """Other items with the same address, text, release reference or
    language-neutral address, oldest first: one indexed look-up per key.

    Reads through the session's connection without flushing it: flush first.
    """
    conditions = [_ITEMS.canonical_url == keys.canonical_url]
    if keys.text_hash:
        conditions.append(_ITEMS.text_hash == keys.text_hash)
    if keys.release_ref:
        conditions.append(_ITEMS.release_ref == keys.release_ref)
    if keys.language_key:
        conditions.append(_ITEMS.language_key == keys.language_key)
    query = (
        select(*_CANDIDATE)
        .where(or_(*conditions), _ITEMS.id != keys.item_id)
        .order_by(_ITEMS.published_at, _ITEMS.id)
    )
    return [_candidate(row) for row in session.connection().execute(query)]


def items_sharing_bands(
    session: Session,
    bands: Sequence[tuple[int, int]],
    item_id: int,
    published: tuple[datetime, datetime],
) -> list[Candidate]:
    """Items published within ``published`` that agree with ``bands`` on a band.

    Reads through the session's connection without flushing it: flush first.
    """
    if not bands:
        return []
    wanted = set(bands)
    query = (
        select(_BANDS.band, _BANDS.hash, *_CANDIDATE)
        .join(Item.__table__, _ITEMS.id == _BANDS.item_id)
        .where(
            _BANDS.hash.in_([value for _, value in wanted]),
            _ITEMS.published_at.between(*published),
            _ITEMS.id != item_id,
        )
    )
    found: dict[int, Candidate] = {}
    for row in session.connection().execute(query):
        # A hash equal by chance in another band is no shared band.
        if (row[0], row[1]) in wanted:
            candidate = _candidate(row[2:])
            found[candidate.item_id] = candidate
    return sorted(found.values(), key=lambda each: (each.published_at, each.item_id))


def replace_bands(
    session: Session,
    item_id: int,
    old: Iterable[tuple[int, int]],
    new: Iterable[tuple[int, int]],
) -> None:
    """Make the item's rows in the band index ``new`` instead of ``old``."""
    old_rows = set(old)
    new_rows = set(new)
    gone = old_rows - new_rows
    if gone:
        session.execute(
            delete(ItemBand).where(
                ItemBand.hash.in_([value for _, value in gone]),
                ItemBand.item_id == item_id,
            )
        )
    added = new_rows - old_rows
    if added:
        session.execute(
            insert(ItemBand),
            [
                {"band": band, "hash": value, "item_id": item_id}
                for band, value in added
            ],
        )


def split_away_from(session: Session, item_id: int) -> set[int]:
    """Stories an editor took the item out of: it never joins them again."""
    return set(
        session.scalars(
            select(StoryDecision.story_id).where(
                StoryDecision.kind == "split", StoryDecision.item_id == item_id
            )
        )
    )


def is_locked(session: Session, story_id: int | None) -> bool:
    if story_id is None:
        return False
    return bool(session.scalar(select(Story.editor_locked).where(Story.id == story_id)))


def place_item(
    session: Session, item: Item, story_id: int | None, now: datetime
) -> int:
    """Put ``item`` into ``story_id`` (a new story when None) and fix headlines.

    An item already in a story and matching none stays where it is: an edit
    does not make a copy an original.
    """
    old = item.story_id
    if story_id is None:
        if old is not None:
            refresh_story(session, old, now)
            return old
        story = Story(created_at=now, updated_at=now)
        session.add(story)
        session.flush()
        story_id = story.id

    if item.story_id != story_id:
        # A copy until the story's headline and versions are chosen again,
        # which only reads the story's earliest items.
        item.story_role = COPY
    item.story_id = story_id
    session.flush()
    if old is not None and old != story_id:
        refresh_story(session, old, now)
    if old != story_id and _beyond_members_read(session, story_id, item):
        # Headline and versions are chosen among the story's earliest
        # members, which this one is not: they stay as they are.
        story = session.get(Story, story_id)
        if story is not None:
            story.updated_at = now
    else:
        refresh_story(session, story_id, now)
    return story_id


def _beyond_members_read(session: Session, story_id: int, item: Item) -> bool:
    """Whether the story has ``_MEMBERS_READ`` members before ``item``."""
    last_read = session.execute(
        select(Item.published_at, Item.id)
        .where(Item.story_id == story_id, Item.id != item.id)
        .order_by(Item.published_at, Item.id)
        .offset(_MEMBERS_READ - 1)
        .limit(1)
    ).first()
    return last_read is not None and (item.published_at, item.id) > tuple(last_read)


def refresh_story(session: Session, story_id: int, now: datetime) -> None:
    """Choose the story's headline and its language versions; drop it if empty.

    The headline is the original: the item whose source the other items'
    texts name ("Source: European Commission") first, then the earliest
    published, then the institution over a municipality.
    """
    story = session.get(Story, story_id)
    if story is None:
        return
    members = list(
        session.scalars(
            select(Item)
            # The texts are read apart, and only those not read before.
            .options(
                joinedload(Item.source), defer(Item.summary), defer(Item.content_html)
            )
            .where(Item.story_id == story_id)
            .order_by(Item.published_at, Item.id)
            .limit(_MEMBERS_READ)
        )
    )
    if not members:
        session.delete(story)
        session.flush()
        return

    # The headline is chosen among the items readers may see, so that a
    # story whose original waits for review or is hidden still shows its
    # published copies; the others follow.
    order = _headline_order(members, _story_texts(session))
    ranked = sorted(members, key=lambda member: (not is_shown(member), order(member)))
    headline = ranked[0]
    languages_seen = {headline.language}
    for member in ranked:
        if member is headline:
            role = HEADLINE
        elif member.language not in languages_seen:
            role = VERSION
            languages_seen.add(member.language)
        else:
            role = COPY
        member.story_role = role
    story.headline_item_id = headline.id
    story.updated_at = now
    session.flush()


def split_item(
    session: Session, item_id: int, now: datetime, editor: str | None = None
) -> int:
    """Take an item out of its story into a story of its own, for good.

    Returns the new story's id. The decision is recorded: the item never
    joins its old story again, and both stories are locked against
    automatic moves. The caller commits.
    """
    item = session.get(Item, item_id)
    if item is None:
        raise StoryError(f"No item {item_id}: nothing to split")
    old = item.story_id
    if old is None:
        raise StoryError(f"Item {item_id} is in no story yet; split it once it is")
    if (
        session.scalar(
            select(Item.id).where(Item.story_id == old, Item.id != item_id).limit(1)
        )
        is None
    ):
        raise StoryError(f"Item {item_id} is alone in story {old}: nothing to split")

    story = Story(created_at=now, updated_at=now, editor_locked=True)
    session.add(story)
    session.flush()
    session.add(
        StoryDecision(
            kind="split", item_id=item_id, story_id=old, other_story_id=story.id,
            editor=editor, decided_at=now,
        )
    )  # fmt: skip
    session.execute(update(Story).where(Story.id == old).values(editor_locked=True))
    item.story_id = story.id
    session.flush()
    refresh_story(session, old, now)
    refresh_story(session, story.id, now)
    return story.id


def merge_stories(
    session: Session, kept: int, merged: int, now: datetime, editor: str | None = None
) -> int:
    """Move every item of story ``merged`` into story ``kept``, for good.

    Returns ``kept``. The kept story is locked, so its items stay together
    when their texts change. The caller commits.
    """
    if kept == merged:
        raise StoryError(f"Story {kept} cannot be merged with itself")
    for story_id in (kept, merged):
        if session.get(Story, story_id) is None:
            raise StoryError(f"No story {story_id}: nothing to merge")

    session.add(
        StoryDecision(
            kind="merge", story_id=kept, other_story_id=merged, editor=editor,
            decided_at=now,
        )
    )  # fmt: skip
    session.execute(update(Item).where(Item.story_id == merged).values(story_id=kept))
    session.execute(update(Story).where(Story.id == kept).values(editor_locked=True))
    session.expire_all()
    refresh_story(session, merged, now)
    refresh_story(session, kept, now)
    return kept


def story_items(session: Session, story_id: int, public: bool = True) -> list[Item]:
    """Every item of a story, headline first, each with its source; only
    those the public may see unless ``public`` is False."""
    query = (
        select(Item).options(joinedload(Item.source)).where(Item.story_id == story_id)
    )
    if public:
        query = query.where(is_public())
    items = list(session.scalars(query))
    return sorted(
        items,
        key=lambda item: (item.story_role != HEADLINE, item.published_at, item.id),
    )


def latest_stories(
    session: Session,
    limit: int = 50,
    before: Cursor | None = None,
    source_id: str | None = None,
    language: str | None = None,
    region: str | None = None,
    topic: str | None = None,
    public: bool = True,
) -> list[Item]:
    """The newest stories first, one item each, with its source loaded.

    The item is the headline; with ``language``, the story's version in that
    language, and stories without one are left out. A source's list holds its
    own items. Items that dedup has not placed yet stand for themselves.
    """
    roles = None
    if source_id is None:
        roles = (HEADLINE, VERSION) if language is not None else (HEADLINE,)
    return latest_items(
        session, limit, before, source_id, language, region, topic, roles, public
    )


def _candidate(row: Any) -> Candidate:
    return Candidate(*row)


def window(moment: datetime, days: int) -> tuple[datetime, datetime]:
    return moment - timedelta(days=days), moment + timedelta(days=days)


class _StoryTexts:
    """Which sources each member's text names, kept for a session.

    Dedup refreshes a story each time an item joins it, and the headline
    asks of every member whether its text names another member's source:
    searched afresh, a story of n members read n texts and made n² searches
    per new member, which made placing a first crawl's 40,000 items take
    most of an hour. Here each text is read once, against every source's
    names at once, and a refresh counts in what is kept.
    """

    def __init__(self, session: Session) -> None:
        self._session = session
        # Each name as its words, under its first word; the ids of the
        # sources it names.
        self._names: dict[str, dict[tuple[str, ...], set[str]]] | None = None
        self._indexed: set[str] = set()
        self._named: dict[tuple[int, str], frozenset[str]] = {}

    def know_sources(self, source_ids: Iterable[str]) -> None:
        """Read the sources' names again if one of these is new since."""
        if self._names is not None and not self._indexed.issuperset(source_ids):
            self._names = None
            self._named.clear()

    def read(self, members: Sequence[Item]) -> None:
        """Read the texts of the members not read yet, in one query."""
        # Starting over before choosing what to read keeps the whole story
        # read at once when the memo fills.
        if len(self._named) >= _TEXTS_KEPT:
            self._named.clear()
        unread = {
            member.id: member
            for member in members
            if (member.id, member.content_hash) not in self._named
        }
        if not unread:
            return
        texts = self._session.execute(
            select(Item.id, Item.title, Item.summary, Item.content_html).where(
                Item.id.in_(list(unread))
            )
        )
        for item_id, title, summary, html in texts:
            words = _plain(_text(title, summary, html)).split()
            key = (item_id, unread[item_id].content_hash)
            self._named[key] = self._find_names(words)

    def named_sources(self, item: Item) -> frozenset[str]:
        """The ids of the sources whose names ``item``'s text holds."""
        key = (item.id, item.content_hash)
        if key not in self._named:
            self.read([item])
        return self._named.get(key, frozenset())

    def _find_names(self, words: list[str]) -> frozenset[str]:
        names = self._names_by_first_word()
        found: set[str] = set()
        for start, word in enumerate(words):
            for name, sources in names.get(word, {}).items():
                if tuple(words[start : start + len(name)]) == name:
                    found |= sources
        return frozenset(found)

    def _names_by_first_word(self) -> dict[str, dict[tuple[str, ...], set[str]]]:
        if self._names is None:
            self._names = {}
            self._indexed = set()
            for source_id, source_name in self._session.execute(
                select(Source.id, Source.name)
            ):
                self._indexed.add(source_id)
                for name in _names_of(source_name):
                    words = tuple(name.split())
                    by_name = self._names.setdefault(words[0], {})
                    by_name.setdefault(words, set()).add(source_id)
        return self._names


def _story_texts(session: Session) -> _StoryTexts:
    texts = session.info.get("story_texts")
    if not isinstance(texts, _StoryTexts):
        texts = session.info["story_texts"] = _StoryTexts(session)
    return texts


def _headline_order(
    members: Sequence[Item], texts: _StoryTexts
) -> Callable[[Item], tuple[int, datetime, int, int]]:
    # A source is credited by each member of another source whose text
    # names it.
    texts.know_sources(member.source_id for member in members)
    texts.read(members)
    credited: dict[str, int] = {}
    for member in members:
        for source_id in texts.named_sources(member):
            if source_id != member.source_id:
                credited[source_id] = credited.get(source_id, 0) + 1

    def order(member: Item) -> tuple[int, datetime, int, int]:
        authority = _AUTHORITY.get(member.source.publisher, len(_AUTHORITY))
        credits = credited.get(member.source_id, 0)
        return (-credits, member.published_at, authority, member.id)

    return order


def _names_of(source_name: str) -> list[str]:
    """How a text may name a source: its name and the name's first part."""
    names = {_plain(source_name).strip()}
    for separator in (" – ", " — ", " - ", " | ", ": "):
        if separator in source_name:
            names.add(_plain(source_name.split(separator)[0]).strip())
    return [name for name in names if len(name) >= 6]


def _text(title: str, summary: str | None, html: str | None) -> str:
    return " ".join((title, summary or "", _TAG.sub(" ", html or "")))


def _plain(text: str) -> str:
    folded = _ACCENT.sub("", unicodedata.normalize("NFKD", text.casefold()))
    return " " + " ".join(_WORD.findall(folded)) + " "
