"""Newest-first lists in pages: the ``?before=`` cursor and what a template
needs to show one page and link the next."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import HTTPException

from storage.items import Cursor, next_cursor
from storage.models import Item


def cursor_from(before: str | None) -> Cursor | None:
    """The position a page starts after; a damaged address is a 400."""
    if before is None:
        return None
    cursor = Cursor.decode(before)
    if cursor is None:
        raise HTTPException(400, "The page address is damaged; start again")
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
