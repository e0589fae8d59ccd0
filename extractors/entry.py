"""The one shape every source format is adapted into."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Entry:
    """One raw item of a source, as the source published it.

    Later stages never ask whether an entry came from RSS, Atom or a
    press-release page: every extractor returns this.
    """

    title: str
    link: str
    guid: str = ""
    summary: str = ""
    content_html: str = ""
    published: datetime | None = None
    updated: datetime | None = None
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    image: str = ""
    language: str = ""
    extra: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def key(self) -> str:
        """A stable identity within its source, whatever the entry's content.

        The GUID wins because feeds keep it when they edit a title or move an
        article; the link is next, and the title is the last resort of feeds
        that give neither.
        """
        identity = self.guid or self.link or self.title
        return hashlib.sha256(identity.encode("utf-8")).hexdigest()

    @property
    def content_hash(self) -> str:
        """A hash of what a reader sees, to tell an edited entry from a re-fetch."""
        parts = (self.title, self.link, self.summary, self.content_html)
        return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
