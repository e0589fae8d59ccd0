"""The search page: a form that works without JavaScript, and its results,
one story each, with the words searched for marked."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from publisher.context import PortalContext, portal
from publisher.excerpts import excerpt, mark_words
from publisher.paging import search_cursor_from
from publisher.search_form import SearchForm, SearchRefused, read_search
from storage.search import next_search_cursor, search_stories

router = APIRouter()

Context = Annotated[PortalContext, Depends(portal)]
Field = Annotated[str, Query(max_length=300)]
Day = Annotated[str, Query(max_length=10)]


def search_form(
    q: Field = "",
    region: Field = "",
    topic: Annotated[str, Query(max_length=64)] = "",
    lang: Annotated[str, Query(max_length=8)] = "",
    since: Annotated[str, Query(alias="from", max_length=10)] = "",
    until: Annotated[str, Query(alias="to", max_length=10)] = "",
) -> SearchForm:
    return SearchForm(q.strip(), region.strip(), topic, lang, since, until)


Form = Annotated[SearchForm, Depends(search_form)]


@router.get("/search", response_class=HTMLResponse, name="search")
def search_page(
    request: Request,
    context: Context,
    form: Form,
    before: Annotated[str | None, Query(max_length=60)] = None,
) -> Response:
    values: dict[str, Any] = {"form": form, "asked": "q" in request.query_params}
    if not values["asked"]:
        return _render(context, request, values)

    cursor = search_cursor_from(before)
    size = context.config.page_size
    with context.sessions() as session:
        try:
            terms, filters = read_search(session, form, context.config)
        except SearchRefused as refusal:
            values["error"] = refusal.message
            return _render(context, request, values, 400)
        hits = search_stories(session, terms, filters, size, cursor)
        values["results"] = [
            (hit.item, mark_words(hit.item.title, terms), excerpt(hit.item, terms))
            for hit in hits
        ]
    following = next_search_cursor(hits, size)
    values["next_page"] = form.query(following.encode()) if following else None
    values["first_page"] = cursor is None
    return _render(context, request, values)


def _render(
    context: PortalContext, request: Request, values: dict[str, Any], status: int = 200
) -> Response:
    config = context.config
    values["topics"] = config.topic_labels
    values["languages"] = config.news_languages
    return context.templates.TemplateResponse(
        request, "search.html", values, status_code=status
    )
