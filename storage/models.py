"""The tables: sources, the fetch log, items, stories, WebSub subscriptions,
editors, regions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Named constraints keep Alembic's batch migrations on SQLite deterministic.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python.

    SQLite stores no offset and hands back naive values; PostgreSQL hands back
    the session's zone. Both come out as UTC here.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime stored; pass an aware UTC value")
        return (
            value.astimezone(UTC)
            if dialect.name != "sqlite"
            else (value.astimezone(UTC).replace(tzinfo=None))
        )

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Source(Base):
    """A feed or press-release page the portal pulls from."""

    __tablename__ = "sources"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(16))
    url: Mapped[str] = mapped_column(String(2000))
    website: Mapped[str | None] = mapped_column(String(2000))
    publisher: Mapped[str] = mapped_column(String(32))
    country: Mapped[str | None] = mapped_column(String(2))
    region: Mapped[str | None] = mapped_column(String(16))
    municipality: Mapped[str | None] = mapped_column(String(32))
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    poll_interval: Mapped[int | None] = mapped_column(Integer)
    # CSS selector of the release links on a press-release listing page; when
    # empty, the links are found from the page's structure.
    selector: Mapped[str | None] = mapped_column(String(500))

    # active sources are crawled; retired ones left the registry and gone
    # ones answered 410 Gone. Both keep their items, so links keep working.
    state: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    next_fetch_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    last_fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_kind: Mapped[str | None] = mapped_column(String(32))
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    etag: Mapped[str | None] = mapped_column(String(500))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    # Why the source is in its state, when something other than the registry
    # put it there (a 410 Gone, a move after permanent redirects).
    state_reason: Mapped[str | None] = mapped_column(Text)
    # A permanent redirect seen on consecutive fetches: the URL moves once it
    # has been seen three times, so that one misconfigured answer moves nothing.
    moved_to: Mapped[str | None] = mapped_column(String(2000))
    moved_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The address the registry gave, which ``url`` leaves after a move; a sync
    # changes ``url`` only when the registry's address itself changes.
    registry_url: Mapped[str | None] = mapped_column(String(2000))
    # Editors decide how far a source is trusted: trusted sources publish
    # directly, new ones wait for review, held ones are stored unpublished.
    trust: Mapped[str] = mapped_column(
        String(16), default="trusted", server_default="trusted"
    )
    # An editor's pause: the source keeps its state and items but is not
    # crawled until resumed.
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    items: Mapped[list[Item]] = relationship(back_populates="source")


class FetchLog(Base):
    """One attempt to fetch a source: what came back and what it yielded."""

    __tablename__ = "fetch_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source_id: Mapped[str] = mapped_column(
        ForeignKey("sources.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(String(2000))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    elapsed_ms: Mapped[int] = mapped_column(Integer)
    status: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16))
    error_kind: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)
    entries_found: Mapped[int] = mapped_column(Integer, default=0)
    items_new: Mapped[int] = mapped_column(Integer, default=0)
    items_updated: Mapped[int] = mapped_column(Integer, default=0)


class Item(Base):
    """An entry of a source, stored and cleaned.

    ``entry_key`` identifies the entry within its source, so fetching the same
    entry again finds this row instead of adding a second one.
    """

    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("source_id", "entry_key"),
        Index("ix_items_published_at_id", "published_at", "id"),
        Index("ix_items_source_id_published_at", "source_id", "published_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source_id: Mapped[str] = mapped_column(
        ForeignKey("sources.id", ondelete="CASCADE"), index=True
    )
    entry_key: Mapped[str] = mapped_column(String(64))
    guid: Mapped[str | None] = mapped_column(String(2000))
    url: Mapped[str] = mapped_column(String(2000))
    title: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text, default="")
    content_html: Mapped[str] = mapped_column(Text, default="")
    authors: Mapped[list[str]] = mapped_column(JSON, default=list)
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    image_url: Mapped[str | None] = mapped_column(String(2000))
    language: Mapped[str | None] = mapped_column(String(8))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    entry_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    content_hash: Mapped[str] = mapped_column(String(64))
    # False when the source gave no date and published_at is the first sight.
    date_known: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    # Seconds from publication to storage, for items that were new when the
    # portal saw them: dated, and not part of a source's first backlog.
    delay_seconds: Mapped[int | None] = mapped_column(Integer)
    # The address the same article has however it was reached: tracking
    # parameters gone, the page's rel=canonical where it can be trusted.
    canonical_url: Mapped[str | None] = mapped_column(String(2000), index=True)
    # How the language was decided (detected, declared-confirmed, ...).
    language_method: Mapped[str | None] = mapped_column(String(32))
    # Why published_at is not the date the source gave (a date in the future).
    date_note: Mapped[str | None] = mapped_column(Text)
    # When the regions and topics were decided; None for a new or edited item
    # that the classifiers have still to read.
    classified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # The story the item belongs to (copies and language versions of one
    # release share one); empty only until dedup has seen the item.
    story_id: Mapped[int | None] = mapped_column(
        ForeignKey("stories.id", ondelete="SET NULL"), index=True
    )
    # headline (the story's original), version (the first item of another
    # language than the headline's) or copy; empty: not yet in a story.
    story_role: Mapped[str | None] = mapped_column(String(8))
    # Hash of the normalised text (case, accents and punctuation ignored), so
    # the same text published twice is found by one indexed look-up; empty
    # until dedup has seen the item.
    text_hash: Mapped[str | None] = mapped_column(String(32), index=True)
    # The MinHash signature of the text (little-endian uint32 values), kept to
    # estimate similarity and to remove the item's bands when its text changes.
    minhash: Mapped[bytes | None] = mapped_column(LargeBinary)
    # A press-release reference the item carries as its own (IP/26/1234).
    release_ref: Mapped[str | None] = mapped_column(String(64), index=True)
    # Hash of the item's address without its language segment or parameter,
    # shared by the language versions of one page.
    language_key: Mapped[str | None] = mapped_column(String(32), index=True)

    # Curation. Whether the item may be shown: published, pending (its source
    # is new: it waits in the review queue), rejected by an editor, or held
    # (its source is held). Set from the source's trust when the item is
    # stored, and by the source's trust again until an editor decides. No
    # index of its own: SQLite would take it for the newest-first lists and
    # sort every published item.
    review: Mapped[str] = mapped_column(
        String(16), default="published", server_default="published"
    )
    # When and by whom an editor approved or rejected it; None: the source's
    # trust decides.
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by: Mapped[str | None] = mapped_column(String(320))
    # An editor hid it from every public page and feed; the row stays.
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The title an editor corrected; ``title`` keeps the source's own.
    corrected_title: Mapped[str | None] = mapped_column(Text)

    source: Mapped[Source] = relationship(back_populates="items")

    @property
    def shown_title(self) -> str:
        """The title readers see: an editor's correction, or the source's."""
        return self.corrected_title or self.title


class Story(Base):
    """Items that are copies or language versions of one release.

    ``headline_item_id`` is the original, shown in feeds and lists; it is no
    foreign key because items point here too, and storage/stories.py keeps it
    one of the story's items.
    """

    __tablename__ = "stories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    headline_item_id: Mapped[int | None] = mapped_column(Integer, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set once an editor split or merged the story: its items then stay where
    # the editor put them when their text changes.
    editor_locked: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default="0"
    )
    # Curation: an editor hid the whole story from every public page and feed.
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ItemBand(Base):
    """One locality-sensitive band of an item's MinHash signature.

    Items whose signatures agree on a whole band are candidate copies. The
    hash mixes in the band's index, so one ``hash IN (...)`` walks the primary
    key for every band at once. On SQLite the table has no rowid, so the index
    is the table. ``item_id`` has no foreign key: the
    cascade would scan this table for every deleted item, and a band of a
    deleted item finds no item and is ignored.
    """

    __tablename__ = "item_bands"
    __table_args__ = (
        PrimaryKeyConstraint("hash", "band", "item_id"),
        {"sqlite_with_rowid": False},
    )

    band: Mapped[int] = mapped_column(SmallInteger)
    hash: Mapped[int] = mapped_column(Integer)
    item_id: Mapped[int] = mapped_column(Integer)


class StoryDecision(Base):
    """An editor's split or merge, kept so that later items respect it.

    split: ``item_id`` was taken out of ``story_id`` and never joins it again.
    merge: ``other_story_id``'s items were moved into ``story_id``.
    """

    __tablename__ = "story_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(8))
    item_id: Mapped[int | None] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), index=True
    )
    story_id: Mapped[int] = mapped_column(Integer)
    other_story_id: Mapped[int | None] = mapped_column(Integer)
    editor: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WebSubSubscription(Base):
    """A source's subscription at the WebSub hub its feed names.

    ``state`` is pending (asked, not yet verified by the hub), active
    (verified, with a lease), denied (the hub refused) or expired (the lease
    ran out or the feed stopped naming the hub).
    """

    __tablename__ = "websub_subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source_id: Mapped[str] = mapped_column(
        ForeignKey("sources.id", ondelete="CASCADE"), unique=True
    )
    hub_url: Mapped[str] = mapped_column(String(2000))
    topic_url: Mapped[str] = mapped_column(String(2000))
    # The HMAC key the hub signs pushes with; random per subscription.
    secret: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    # The lease asked for, then the one the hub granted on verification.
    lease_seconds: Mapped[int] = mapped_column(Integer)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When to ask the hub again, well before the lease runs out.
    renew_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    last_push_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pushes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)


class Editor(Base):
    """A person who curates the portal; admins also manage editors."""

    __tablename__ = "editors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))  # editor or admin
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Wrong passwords in a row; at the limit the account locks for a while,
    # and even the right password is refused until the lock passes.
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class EditorSession(Base):
    """A logged-in browser: the cookie holds the token, the table its hash.

    Kept in the database so that logging out, deactivating an editor or a
    restart of any web process ends the session everywhere at once.
    """

    __tablename__ = "editor_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    editor_id: Mapped[int] = mapped_column(
        ForeignKey("editors.id", ondelete="CASCADE"), index=True
    )
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    address: Mapped[str | None] = mapped_column(String(64))

    editor: Mapped[Editor] = relationship()


class LoginFailure(Base):
    """One wrong password, kept for the per-address limit."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_address_at", "address", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    address: Mapped[str] = mapped_column(String(64))
    email: Mapped[str] = mapped_column(String(320))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditEntry(Base):
    """One editorial action: who did what to which thing, before and after."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_subject", "subject_type", "subject_id"),
        Index("ix_audit_log_at_id", "at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Null for actions of the command line, which no editor account made.
    editor_id: Mapped[int | None] = mapped_column(
        ForeignKey("editors.id", ondelete="SET NULL"), index=True
    )
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(String(128))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)


class Region(Base):
    """A node of the region tree: EU, country, NUTS region or municipality.

    ``path`` lists the codes from the root down to the node ("EU/AT/AT1/AT13/
    AT130/"), so a region's descendants are the rows whose path starts with
    its own: one indexed range scan.
    """

    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    parent: Mapped[str | None] = mapped_column(String(40), index=True)
    level: Mapped[str] = mapped_column(String(16))
    country: Mapped[str | None] = mapped_column(String(2), index=True)
    name: Mapped[str] = mapped_column(String(300))
    names: Mapped[list[str]] = mapped_column(JSON, default=list)
    population: Mapped[int | None] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(String(400), index=True)
    # The shipped GeoNames node an imported municipality is.
    replaces: Mapped[str | None] = mapped_column(String(40))
    # Where the node came from: "gazetteer" (shipped) or "eurostat" (imported).
    origin: Mapped[str] = mapped_column(String(16))


class ItemRegionRow(Base):
    """A region an item belongs to, with why: its source's place, a place its
    text names, or an editor's correction. Ancestors are stored too, so that a
    region's page and feed are one indexed look-up of its code."""

    __tablename__ = "item_regions"
    __table_args__ = (Index("ix_item_regions_code_item_id", "code", "item_id"),)

    item_id: Mapped[int] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    level: Mapped[str] = mapped_column(String(16))
    country: Mapped[str | None] = mapped_column(String(2))
    reason: Mapped[str] = mapped_column(String(16))  # source, mention or editor
    evidence: Mapped[str] = mapped_column(String(300))
    # The region found directly, when this one is its ancestor.
    via: Mapped[str | None] = mapped_column(String(40))


class ItemTopicRow(Base):
    """A topic of an item, its score and the terms or categories behind it."""

    __tablename__ = "item_topics"
    __table_args__ = (Index("ix_item_topics_slug_item_id", "slug", "item_id"),)

    item_id: Mapped[int] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), primary_key=True
    )
    slug: Mapped[str] = mapped_column(String(64), primary_key=True)
    score: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(String(16))  # rules or editor
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


# Caching: the portal's validators read the newest change of each kind with
# one indexed max() per column, so that a 304 costs no scan of the items.
Index("ix_items_changed_at", Item.changed_at)
Index("ix_items_classified_at", Item.classified_at)
Index("ix_stories_updated_at", Story.updated_at)


# Curation (issue 9): stories an editor features on the home or a region page.


class Feature(Base):
    """A story an editor shows in the Featured block of a page until a date.

    ``place`` is "home" or a region code. Ending a feature early sets
    ``ended_at``; the row stays, as the audit log's subject.
    """

    __tablename__ = "features"
    __table_args__ = (Index("ix_features_place_until", "place", "until"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    story_id: Mapped[int] = mapped_column(
        ForeignKey("stories.id", ondelete="CASCADE"), index=True
    )
    place: Mapped[str] = mapped_column(String(40))
    until: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(320))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# --- Registrations: municipalities registering their own source ---


class Registration(Base):
    """A municipality's request to have its feed or press-release page crawled.

    ``state`` is unconfirmed (the contact has not opened the e-mailed link),
    confirmed (waiting for editors), approved (``source_id`` is its source),
    rejected or changes (editors asked for changes; the registrant registers
    again). ``verified`` is set on confirmation when the contact's e-mail
    domain is the website's registrable domain.
    """

    __tablename__ = "registrations"
    __table_args__ = (Index("ix_registrations_domain_state", "domain", "state"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    # The node of the region tree, or empty when the registrant named a
    # municipality the tree does not hold (``municipality_name`` then).
    region_code: Mapped[str | None] = mapped_column(String(40))
    municipality_name: Mapped[str] = mapped_column(String(300))
    country: Mapped[str | None] = mapped_column(String(2))
    website: Mapped[str] = mapped_column(String(2000))
    # What the registrant typed, and the feed or listing found from it.
    given_url: Mapped[str] = mapped_column(String(2000))
    source_url: Mapped[str] = mapped_column(String(2000), index=True)
    source_kind: Mapped[str] = mapped_column(String(16))
    source_title: Mapped[str] = mapped_column(String(500), default="")
    contact_name: Mapped[str] = mapped_column(String(200))
    contact_email: Mapped[str] = mapped_column(String(320))
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The interface language the registrant used: their e-mails' language.
    locale: Mapped[str] = mapped_column(String(8))
    # The website's registrable domain (public-suffix aware).
    domain: Mapped[str] = mapped_column(String(253))
    verified: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    address: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(320))
    # The editor's reason for a rejection or the changes asked for.
    decision_note: Mapped[str | None] = mapped_column(Text)
    source_id: Mapped[str | None] = mapped_column(
        ForeignKey("sources.id", ondelete="SET NULL")
    )


class RegistrationAttempt(Base):
    """One registration form or API call received, accepted or refused.

    Kept for the limits per address and per network, and so that every
    refusal can be looked up later with its reason.
    """

    __tablename__ = "registration_attempts"
    __table_args__ = (
        Index("ix_registration_attempts_address_at", "address", "at"),
        Index("ix_registration_attempts_network_at", "network", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    address: Mapped[str] = mapped_column(String(64))
    # The /24 (IPv4) or /48 (IPv6) network of the address.
    network: Mapped[str] = mapped_column(String(64))
    url: Mapped[str | None] = mapped_column(String(2000))
    # "accepted", or why it was refused (rate_limit, honeypot, not_a_feed...).
    outcome: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(Text)


# Subscriptions and e-mail digests


class Subscription(Base):
    """A reader's wish for a daily or weekly digest, by double opt-in.

    ``state`` is pending (asked, confirmation not yet followed), active,
    paused (by the reader, or after repeated permanent delivery failures) or
    unsubscribed. ``email`` is stored normalised and never shown in a page or
    a log; ``nonce`` is mixed into every signed link, so a deleted row's links
    never open a later row that got the same id.
    """

    __tablename__ = "subscriptions"
    __table_args__ = (Index("ix_subscriptions_state_frequency", "state", "frequency"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    nonce: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    frequency: Mapped[str] = mapped_column(String(8))  # daily or weekly
    # The interface language the e-mails are written in.
    locale: Mapped[str] = mapped_column(String(8))
    # Region codes at any level; a region covers every region below it.
    regions: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Topic slugs and item languages; empty means any.
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The consent: when the confirmation link was followed, and the words the
    # reader agreed to on the form.
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consent_text: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # subscriber or delivery, when paused.
    pause_reason: Mapped[str | None] = mapped_column(String(16))
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The end of the window the last digest covered: the next one starts here.
    digest_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Permanent delivery failures in a row; reset by a delivered digest.
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_failure: Mapped[str | None] = mapped_column(Text)


class DigestSend(Base):
    """The send log: one row per subscription and period, so a digest is sent
    at most once however many runs or workers see it due.

    A run claims the row (state ``claimed``, with a lease and its own token)
    before sending and marks it ``sent``, ``empty`` (nothing new) or
    ``failed`` (refused for good) after; a claim whose lease ran out was left
    by a run that died, and the next run takes it over.
    """

    __tablename__ = "digest_sends"
    __table_args__ = (
        UniqueConstraint("subscription_id", "period"),
        Index("ix_digest_sends_period_state", "period", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE")
    )
    # 2026-12-04 for a daily digest, 2026-W49 for a weekly one.
    period: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(8))
    claim_token: Mapped[str] = mapped_column(String(32))
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stories: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    message_id: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str | None] = mapped_column(Text)


class HostSlot(Base):
    """One of a host's request slots, shared by every worker: a worker holds
    one for each request on the wire to the host, so that the workers
    together keep to ``AGGREGATOR_HOST_CONCURRENCY``. A lease runs out, so
    a worker that died frees its slots after the fetch timeout."""

    __tablename__ = "host_slots"

    host: Mapped[str] = mapped_column(String(255), primary_key=True)
    slot: Mapped[int] = mapped_column(Integer, primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(64))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class HostPace(Base):
    """The earliest moment the next request to a host may start, whichever
    worker sends it: each request reserves its start and moves this on by
    the host's gap."""

    __tablename__ = "host_pace"

    host: Mapped[str] = mapped_column(String(255), primary_key=True)
    next_start: Mapped[datetime] = mapped_column(UTCDateTime)
