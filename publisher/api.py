"""The JSON API under ``/api/v1/``, described by its OpenAPI document.

Other portals and scripts page through items the way the portal does: newest
first, with an opaque cursor that new arrivals do not shift.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from publisher.context import PortalContext, portal
from publisher.excerpts import excerpt, plain
from publisher.paging import decoded
from publisher.search_form import SearchForm, SearchRefused, read_search
from publisher.search_views import search_form
from storage.health import SourceHealth, source_health
from storage.items import Cursor, latest_items, next_cursor
from storage.models import Item, Source
from storage.publication import is_public
from storage.search import SearchCursor, next_search_cursor, search_stories
from storage.sources import list_sources

PREFIX = "/api/v1"
DAMAGED = "The cursor is damaged; start without ?before="
router = APIRouter(prefix=PREFIX, tags=["api"])

Context = Annotated[PortalContext, Depends(portal)]


class ApiItem(BaseModel):
    """One stored item, as its source published it and the portal cleaned it."""

    id: int
    source_id: str
    title: str = Field(description="The title shown: an editor's correction, if any.")
    source_title: str = Field(description="The title as the source published it.")
    url: str = Field(description="The original article, at its source.")
    canonical_url: str | None
    summary: str
    content_html: str = Field(description="Sanitised HTML of the full text.")
    language: str | None = Field(description="ISO 639-1 code.")
    language_method: str | None = Field(description="How the language was decided.")
    published_at: datetime
    updated_at: datetime | None = Field(description="When the source last edited it.")
    first_seen_at: datetime
    authors: list[str]
    categories: list[str]
    image_url: str | None


class ItemPage(BaseModel):
    items: list[ApiItem]
    next: str | None = Field(
        description="Cursor of the next (older) page, for ?before=; null at the end."
    )


class ApiFreshness(BaseModel):
    median_delay_seconds: float | None
    p90_delay_seconds: float | None
    items: int


class ApiSource(BaseModel):
    """A source and its health as the crawler sees it."""

    id: str
    name: str
    kind: str
    url: str
    website: str | None
    publisher: str
    country: str | None
    region: str | None
    municipality: str | None
    languages: list[str]
    state: str
    items: int
    status: str = Field(description="ok, failing, waiting, gone or retired.")
    last_fetched_at: datetime | None
    next_fetch_at: datetime | None
    consecutive_failures: int
    last_error_kind: str | None
    last_error: str | None
    freshness: ApiFreshness
    feed_url: str


class SourceList(BaseModel):
    sources: list[ApiSource]


@router.get("/items", response_model=ItemPage, summary="Latest items")
def items(
    context: Context,
    before: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    source: Annotated[str | None, Query(max_length=64)] = None,
    lang: Annotated[str | None, Query(pattern="^[a-z]{2,3}$")] = None,
) -> ItemPage:
    cursor = decoded(before, Cursor.decode, DAMAGED)

    with context.sessions() as session:
        found = latest_items(session, limit, cursor, source_id=source, language=lang)
        following = next_cursor(found, limit)
        return ItemPage(
            items=[_api_item(item) for item in found],
            next=following.encode() if following else None,
        )


class ApiSearchResult(BaseModel):
    """A story found: its item that best matches the words."""

    story_id: int | None
    title_words: int = Field(
        description="How many of the words searched for the title holds: "
        "results are ordered by it, then newest first."
    )
    excerpt: str = Field(description="Plain text around the first word found.")
    item: ApiItem


class SearchPage(BaseModel):
    results: list[ApiSearchResult]
    next: str | None = Field(
        description="Cursor of the next page of results, for ?before=; null at the end."
    )


@router.get(
    "/search",
    response_model=SearchPage,
    summary="Search stories",
    responses={400: {"description": "No word to search for, or a bad filter."}},
)
def search(
    context: Context,
    form: Annotated[SearchForm, Depends(search_form)],
    before: Annotated[str | None, Query(max_length=60)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 30,
) -> SearchPage:
    """Stories with an item holding every word of ``q`` (a word ending in
    ``*`` is a prefix; case and diacritics do not matter), one item each,
    those with more of the words in the title first, then the newest.
    ``region`` is a region's code or name and takes the regions below it
    too; ``from`` and ``to`` are days (YYYY-MM-DD), both included."""
    cursor = decoded(before, SearchCursor.decode, DAMAGED)

    with context.sessions() as session:
        try:
            terms, filters = read_search(session, form, context.config)
        except SearchRefused as refusal:
            raise HTTPException(400, str(refusal.message)) from refusal
        hits = search_stories(session, terms, filters, limit, cursor)
        following = next_search_cursor(hits, limit)
        return SearchPage(
            results=[
                ApiSearchResult(
                    story_id=hit.item.story_id,
                    title_words=hit.rank,
                    excerpt=plain(excerpt(hit.item, terms)),
                    item=_api_item(hit.item),
                )
                for hit in hits
            ],
            next=following.encode() if following else None,
        )


@router.get("/items/{item_id}", response_model=ApiItem, summary="One item")
def item(item_id: int, context: Context) -> ApiItem:
    with context.sessions() as session:
        found = session.scalar(
            select(Item)
            .options(joinedload(Item.source))
            .where(Item.id == item_id, is_public())
        )
        if found is None:
            raise HTTPException(404, f"No item with id {item_id}")
        return _api_item(found)


@router.get("/sources", response_model=SourceList, summary="Every source")
def sources(context: Context) -> SourceList:
    with context.sessions() as session:
        health = source_health(session, datetime.now(UTC))
        rows = list_sources(session)
        return SourceList(
            sources=[
                _api_source(context, row.source, row.item_count, health[row.source.id])
                for row in rows
            ]
        )


@router.get("/sources/{source_id}", response_model=ApiSource, summary="One source")
def source(source_id: str, context: Context) -> ApiSource:
    with context.sessions() as session:
        health = source_health(session, datetime.now(UTC))
        for row in list_sources(session):
            if row.source.id == source_id:
                return _api_source(
                    context, row.source, row.item_count, health[source_id]
                )
    raise HTTPException(404, f"No source with id {source_id!r}")


def _api_item(item: Item) -> ApiItem:
    return ApiItem(
        id=item.id,
        source_id=item.source_id,
        title=item.shown_title,
        source_title=item.title,
        url=item.url,
        canonical_url=item.canonical_url,
        summary=item.summary,
        content_html=item.content_html,
        language=item.language,
        language_method=item.language_method,
        published_at=item.published_at,
        updated_at=item.entry_updated_at,
        first_seen_at=item.first_seen_at,
        authors=list(item.authors or ()),
        categories=list(item.categories or ()),
        image_url=item.image_url,
    )


def _api_source(
    context: PortalContext, source: Source, count: int, health: SourceHealth
) -> ApiSource:
    fresh = health.freshness
    return ApiSource(
        id=source.id,
        name=source.name,
        kind=source.kind,
        url=source.url,
        website=source.website,
        publisher=source.publisher,
        country=source.country,
        region=source.region,
        municipality=source.municipality,
        languages=list(source.languages or ()),
        state=source.state,
        items=count,
        status=health.status,
        last_fetched_at=source.last_fetched_at,
        next_fetch_at=health.next_fetch_at,
        consecutive_failures=source.consecutive_failures,
        last_error_kind=health.error_kind,
        last_error=health.error,
        freshness=ApiFreshness(
            median_delay_seconds=_seconds(fresh.median_delay),
            p90_delay_seconds=_seconds(fresh.p90_delay),
            items=fresh.items,
        ),
        feed_url=context.config.absolute(f"/feeds/sources/{source.id}.atom"),
    )


def _seconds(value: timedelta | None) -> float | None:
    return value.total_seconds() if value is not None else None
