"""Feed routes: every list of stories as Atom, RSS and JSON Feed.

A feed lists stories, not copies: one entry per story, its headline (the
original, credited to its source), or with ``?lang=`` the story's version in
that language.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from sqlalchemy import select

from publisher.context import PortalContext, portal
from publisher.feeds import MEDIA_TYPES, FeedInfo, render_feed
from storage.models import Item, Source
from storage.stories import latest_stories

router = APIRouter()

Form = Annotated[str, "atom, rss or json"]
LanguageFilter = Annotated[str | None, Query(alias="lang", pattern="^[a-z]{2,3}$")]


@router.get("/feeds/all.{form}", name="feed_all")
def feed_all(
    form: Form,
    context: Annotated[PortalContext, Depends(portal)],
    lang: LanguageFilter = None,
) -> Response:
    _check_form(form)
    with context.sessions() as session:
        items = latest_stories(session, context.config.feed_size, language=lang)
        info = _info(context, form, "All news", "/feeds/all", "/", items, lang)
        return _respond(context, form, info, items)


@router.get("/feeds/sources/{source_id}.{form}", name="feed_source")
def feed_source(
    source_id: str,
    form: Form,
    context: Annotated[PortalContext, Depends(portal)],
    lang: LanguageFilter = None,
) -> Response:
    _check_form(form)
    with context.sessions() as session:
        source = session.scalar(select(Source).where(Source.id == source_id))
        if source is None:
            raise HTTPException(404, f"No source with id {source_id!r}")
        items = latest_stories(
            session, context.config.feed_size, source_id=source_id, language=lang
        )
        info = _info(
            context,
            form,
            source.name,
            f"/feeds/sources/{source_id}",
            f"/sources#{source_id}",
            items,
            lang,
        )
        return _respond(context, form, info, items)


def _check_form(form: str) -> None:
    if form not in MEDIA_TYPES:
        raise HTTPException(404, "Feeds exist as .atom, .rss and .json")


def _info(
    context: PortalContext,
    form: str,
    title: str,
    path: str,
    home: str,
    items: Sequence[Item],
    lang: str | None,
) -> FeedInfo:
    query = f"?lang={lang}" if lang else ""
    updated = max(
        (item.changed_at or item.published_at for item in items),
        default=datetime(2000, 1, 1, tzinfo=UTC),
    )
    return FeedInfo(
        title=f"{title} – {context.config.site_title}",
        feed_url=context.config.absolute(f"{path}.{form}{query}"),
        home_url=context.config.absolute(home),
        feed_id=context.config.absolute(f"{path}{query}"),
        updated=updated,
        language=lang or "",
    )


def _respond(
    context: PortalContext, form: str, info: FeedInfo, items: Sequence[Item]
) -> Response:
    body = render_feed(context.templates.env, form, info, items)
    return Response(body, media_type=MEDIA_TYPES[form])
