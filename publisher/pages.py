"""Portal pages: the latest news, the sources and their health."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import text

from publisher.context import PortalContext, portal
from publisher.opml import render_opml
from publisher.paging import cursor_from, page_of
from storage.curation import HOME, featured_stories
from storage.health import source_health
from storage.overview import stories_by_country, stories_by_topic
from storage.sources import list_sources
from storage.stories import latest_stories

router = APIRouter()

Context = Annotated[PortalContext, Depends(portal)]


@router.get("/", response_class=HTMLResponse, name="home")
def home(
    request: Request,
    context: Context,
    before: Annotated[str | None, Query(max_length=40)] = None,
    lang: Annotated[str | None, Query(pattern="^([a-z]{2,3})?$")] = None,
) -> Response:
    cursor = cursor_from(before)
    size = context.config.page_size
    # The language form sends an empty value for "any language".
    lang = lang or None
    with context.sessions() as session:
        # One entry per story: its headline, or its version in ``lang``.
        items = latest_stories(session, size, before=cursor, language=lang)
        countries = stories_by_country(session) if cursor is None else []
        topics = stories_by_topic(session) if cursor is None else {}
        featured = featured_stories(session, HOME, context.now()) if not cursor else []
    return context.templates.TemplateResponse(
        request,
        "home.html",
        {
            **page_of(items, size, cursor, lang),
            "featured": featured,
            "countries": countries,
            "topic_counts": topics,
            "topics": context.config.topic_labels,
        },
    )


@router.get("/sources", response_class=HTMLResponse, name="sources")
def sources(request: Request, context: Context) -> Response:
    with context.sessions() as session:
        rows = list_sources(session)
        health = source_health(session, datetime.now(UTC))
    return context.templates.TemplateResponse(
        request, "sources.html", {"rows": rows, "health": health}
    )


@router.get("/sources.opml", name="sources_opml")
def sources_opml(context: Context) -> Response:
    """Every active source's feed on the portal, for a feed reader to import."""
    with context.sessions() as session:
        rows = list_sources(session, include_retired=False)
        body = render_opml(context.config, [row.source for row in rows])
    return Response(
        body,
        media_type="text/x-opml; charset=utf-8",
        headers={"Content-Disposition": 'inline; filename="sources.opml"'},
    )


@router.get("/healthz", name="health")
def health(context: Context) -> Response:
    try:
        with context.sessions() as session:
            session.execute(text("SELECT 1"))
    except Exception as error:  # any database failure means "not healthy"
        return JSONResponse({"status": "error", "database": str(error)}, 503)
    return JSONResponse({"status": "ok"})
