"""Newest-first lists in pages: the ``?before=`` cursor and what a template
needs to show one page and link the next."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from fastapi import HTTPException

from storage.items import Cursor, next_cursor
from storage.models import Item
from storage.search import SearchCursor

T = TypeVar("T")


def cursor_from(before: str | None) -> Cursor | None:
    """The position a page starts after; a damaged address is a 400."""
    return decoded(before, Cursor.decode)


def search_cursor_from(before: str | None) -> SearchCursor | None:
    """The position in search results a page starts after, as ``cursor_from``."""
    return decoded(before, SearchCursor.decode)


def decoded(
    before: str | None,
    decode: Callable[[str], T | None],
    damaged: str = "The page address is damaged; start again",
) -> T | None:
    """``before`` decoded as a cursor; None without one, a 400 saying ``damaged``
    for one that does not decode."""
    if before is None:
        return None
    cursor = decode(before)
    if cursor is None:
        raise HTTPException(400, damaged)
    return cursor


def page_of(
    items: Sequence[Item], size: int, cursor: Cursor | None, lang: str | None
) -> dict[str, Any]:
    following = next_cursor(items, size)
    return {
        "items": items,
        "next_cursor": following.encode() if following else None,
        "lang": lang,
        "first_page": cursor is None,
    }
