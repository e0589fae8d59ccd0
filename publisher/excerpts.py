"""What a search result shows of its item: the words searched for, marked,
in the title and in a short passage of the text around the first of them.

Both databases match words without case and diacritics; the marking here
folds the same way, so it marks what the database matched.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from storage.models import Item
from storage.search import Term, fold, search_body

# Pieces of text, each marked (a word searched for) or not.
Marked = list[tuple[str, bool]]

_WORD = re.compile(r"[^\W_]+")
_SPACE = re.compile(r"\s+")


def mark_words(text: str, terms: Sequence[Term]) -> Marked:
    """``text`` cut into pieces, the words of ``terms`` marked."""
    pieces: Marked = []
    done = 0
    for match in _WORD.finditer(text):
        if not _is_wanted(match.group(0), terms):
            continue
        if match.start() > done:
            pieces.append((text[done : match.start()], False))
        pieces.append((match.group(0), True))
        done = match.end()
    if done < len(text):
        pieces.append((text[done:], False))
    return pieces


def excerpt(item: Item, terms: Sequence[Term], width: int = 240) -> Marked:
    """About ``width`` characters of the item's text around the first word
    searched for (or its beginning), with the words marked."""
    text = _readable_text(item)
    first = next(
        (m.start() for m in _WORD.finditer(text) if _is_wanted(m.group(0), terms)),
        0,
    )
    start = 0 if first < width // 3 else text.rfind(" ", 0, first - width // 3) + 1
    end = len(text)
    if end - start > width:
        end = text.rfind(" ", start, start + width)
        if end <= first:
            end = start + width

    pieces = mark_words(text[start:end], terms)
    if start > 0:
        pieces.insert(0, ("… ", False))
    if end < len(text):
        pieces.append((" …", False))
    return pieces


def _readable_text(item: Item) -> str:
    """The summary and the text, the summary once when the text begins with it
    (as feeds that give no teaser of their own do)."""
    summary = _SPACE.sub(" ", item.summary or "").strip()
    body = _SPACE.sub(" ", search_body(None, item.content_html)).strip()
    if not summary or summary[:100] in body:
        return body or summary
    return f"{summary} {body}".strip()


def plain(pieces: Marked) -> str:
    return "".join(text for text, _ in pieces)


def _is_wanted(word: str, terms: Sequence[Term]) -> bool:
    folded = fold(word)
    return any(
        folded == term.folded or (term.prefix and folded.startswith(term.folded))
        for term in terms
    )
