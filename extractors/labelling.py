"""The labels an entry carries into storage: its language and canonical URL.

Runs on every entry of every format after extraction, so that later stages
(dedup, classification, the portal's language filters) read one field each,
however the source declared things.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from extractors.entry import Entry
from extractors.language import LanguageDecision, detect_language
from extractors.text import html_to_text
from extractors.urls import canonical_url


def label_entry(entry: Entry, source_languages: Sequence[str] = ()) -> Entry:
    """The entry with its language decided and its canonical URL in ``extra``.

    The entry's own declared language is the prior; a source that publishes in
    one language lends it to entries that declare none. The decision and how it
    was made go into ``extra`` (``language_method``, ``language_confidence``)
    for operators and editors to see why an item is labelled as it is.
    """
    decision = decide_language(entry, source_languages)
    extra = dict(entry.extra)
    extra["language_method"] = decision.method
    extra["language_confidence"] = f"{decision.confidence:.3f}"
    if entry.link:
        extra["canonical_url"] = canonical_url(
            entry.link, extra.get("canonical_url", "")
        )
    return dataclasses.replace(entry, language=decision.code, extra=extra)


def decide_language(
    entry: Entry, source_languages: Sequence[str] = ()
) -> LanguageDecision:
    """How the language of ``entry`` is decided, with the source as fallback."""
    declared = entry.language
    if not declared and len(source_languages) == 1:
        declared = source_languages[0]
    text = entry.summary or html_to_text(entry.content_html)
    return detect_language(entry.title, text, declared)
