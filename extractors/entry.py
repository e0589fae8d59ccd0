"""The one shape every source format is adapted into."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime

_TAG = re.compile(r"<[^>]*>")


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
    # The content hash of the entry as its source published it, when the
    # portal completed it afterwards from its article page: an unchanged feed
    # entry must not look edited because its stored item holds the full text.
    source_hash: str = field(default="", compare=False)

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

    @property
    def change_hash(self) -> str:
        """The hash that tells whether the source edited the entry."""
        return self.source_hash or self.content_hash

    @property
    def word_count(self) -> int:
        """Words of the entry's own text, the longer of summary and content."""
        return max(len(self.summary.split()), _words_in_html(self.content_html))


def _words_in_html(html: str) -> int:
    # Tags are no words; a rough count is all the full-text threshold needs.
    return len(_TAG.sub(" ", html).split()) if html else 0
