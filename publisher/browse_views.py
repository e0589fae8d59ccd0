"""Region and topic pages: the stories of a place (and every place below it)
or of a topic, newest first, with their feeds."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response

from publisher.context import PortalContext, portal
from publisher.paging import cursor_from, page_of
from storage.curation import featured_stories
from storage.regions import child_regions, region_node, regions_by_code
from storage.stories import HEADLINE, VERSION, latest_stories, story_items

router = APIRouter()

Context = Annotated[PortalContext, Depends(portal)]
Before = Annotated[str | None, Query(max_length=40)]
# Empty is "any language", as the language form sends it.
Language = Annotated[str | None, Query(pattern="^([a-z]{2,3})?$")]


@router.get("/regions/{code}", response_class=HTMLResponse, name="region")
def region_page(
    request: Request,
    code: Annotated[str, "a region code"],
    context: Context,
    before: Before = None,
    lang: Language = None,
) -> Response:
    cursor = cursor_from(before)
    size = context.config.page_size
    lang = lang or None
    with context.sessions() as session:
        node = region_node(session, code)
        items = latest_stories(session, size, cursor, language=lang, region=code)
        if node is None and not items and cursor is None:
            raise HTTPException(404, f"No region {code!r} and no news filed under it")
        trail: list[object] = []
        children: list[object] = []
        if node is not None:
            ancestors = [part for part in node.path.split("/") if part][:-1]
            found = regions_by_code(session, ancestors)
            trail = [found[part] for part in ancestors if part in found]
            children = list(child_regions(session, code))
        featured = featured_stories(session, code, context.now()) if not cursor else []
        return context.templates.TemplateResponse(
            request,
            "region.html",
            {
                "code": code,
                "featured": featured,
                "node": node,
                "trail": trail,
                "children": children,
                **page_of(items, size, cursor, lang),
            },
        )


@router.get("/topics/{slug}", response_class=HTMLResponse, name="topic")
def topic_page(
    request: Request,
    slug: str,
    context: Context,
    before: Before = None,
    lang: Language = None,
    region: Annotated[str | None, Query(pattern="^[A-Za-z0-9:_-]{2,40}$")] = None,
) -> Response:
    labels = context.config.topic_labels.get(slug)
    if labels is None:
        raise HTTPException(404, f"No topic {slug!r}")
    cursor = cursor_from(before)
    size = context.config.page_size
    lang = lang or None
    with context.sessions() as session:
        items = latest_stories(
            session, size, cursor, language=lang, region=region, topic=slug
        )
        return context.templates.TemplateResponse(
            request,
            "topic.html",
            {
                "slug": slug,
                "labels": labels,
                "region": region,
                **page_of(items, size, cursor, lang),
            },
        )


@router.get("/stories/{story_id}", response_class=HTMLResponse, name="story")
def story_page(
    request: Request, story_id: int, context: Context, lang: Language = None
) -> Response:
    """A story: its headline (or the version in ``lang``), the original's
    link, every other language version and every copy with its source."""
    with context.sessions() as session:
        members = story_items(session, story_id)
        if not members:
            raise HTTPException(404, f"No story {story_id}")
        headline = members[0]
        versions = [m for m in members if m.story_role in (HEADLINE, VERSION)]
        shown = next((m for m in versions if lang and m.language == lang), headline)
        copies = [m for m in members if m.story_role not in (HEADLINE, VERSION)]
        return context.templates.TemplateResponse(
            request,
            "story.html",
            {
                "story_id": story_id,
                "item": shown,
                "original": headline,
                "versions": [v for v in versions if v.id != shown.id],
                "copies": copies,
            },
        )
