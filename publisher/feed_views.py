"""Feed routes: every list of stories as Atom, RSS and JSON Feed.

A feed lists stories, not copies: one entry per story, its headline (the
original, credited to its source), or with ``?lang=`` the story's version in
that language. The same lists exist for everything, each region (with every
region below it), each topic and each source, and every one takes the
filters ``?lang=``, ``?topic=`` and ``?region=``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from publisher.context import PortalContext, portal
from publisher.feeds import MEDIA_TYPES, FeedInfo, render_feed
from storage.models import Item, Region, Source
from storage.stories import latest_stories

router = APIRouter()

Context = Annotated[PortalContext, Depends(portal)]
Form = Annotated[str, "atom, rss or json"]
CODE = "^[A-Za-z0-9:_-]{2,40}$"
SLUG = "^[a-z0-9-]{2,64}$"


@dataclass(frozen=True)
class Filters:
    """What a reader narrowed a feed to, as its query string said."""

    language: str | None = None
    region: str | None = None
    topic: str | None = None

    def query(self) -> str:
        pairs = [
            (name, value)
            for name, value in (
                ("lang", self.language),
                ("region", self.region),
                ("topic", self.topic),
            )
            if value
        ]
        return f"?{urlencode(pairs)}" if pairs else ""


def filters(
    lang: Annotated[str | None, Query(pattern="^[a-z]{2,3}$")] = None,
    region: Annotated[str | None, Query(pattern=CODE)] = None,
    topic: Annotated[str | None, Query(pattern=SLUG)] = None,
) -> Filters:
    return Filters(lang, region, topic)


Filtered = Annotated[Filters, Depends(filters)]


@router.get("/feeds/all.{form}", name="feed_all")
def feed_all(form: Form, context: Context, chosen: Filtered) -> Response:
    _check_form(form)
    with context.sessions() as session:
        items = _items(context, session, chosen)
        info = _info(context, form, "All news", "/feeds/all", "/", items, chosen)
        return _respond(context, form, info, items)


@router.get("/feeds/sources/{source_id}.{form}", name="feed_source")
def feed_source(
    source_id: str, form: Form, context: Context, chosen: Filtered
) -> Response:
    _check_form(form)
    with context.sessions() as session:
        source = session.scalar(select(Source).where(Source.id == source_id))
        if source is None:
            raise HTTPException(404, f"No source with id {source_id!r}")
        items = _items(context, session, chosen, source_id=source_id)
        info = _info(
            context, form, source.name, f"/feeds/sources/{source_id}",
            f"/sources#{source_id}", items, chosen,
        )  # fmt: skip
        return _respond(context, form, info, items)


@router.get("/feeds/regions/{code}.{form}", name="feed_region")
def feed_region(code: str, form: Form, context: Context, chosen: Filtered) -> Response:
    _check_form(form)
    with context.sessions() as session:
        # A region of the tree has its name; a code the tree lacks (nothing
        # imported yet) still has its items, under its code.
        name = session.scalar(select(Region.name).where(Region.code == code)) or code
        narrowed = Filters(chosen.language, code, chosen.topic)
        items = _items(context, session, narrowed)
        info = _info(
            context, form, name, f"/feeds/regions/{code}", "/", items,
            Filters(chosen.language, None, chosen.topic),
        )  # fmt: skip
        return _respond(context, form, info, items)


@router.get("/feeds/topics/{slug}.{form}", name="feed_topic")
def feed_topic(slug: str, form: Form, context: Context, chosen: Filtered) -> Response:
    _check_form(form)
    labels = context.config.topic_labels.get(slug)
    if labels is None:
        raise HTTPException(404, f"No topic {slug!r}")
    with context.sessions() as session:
        narrowed = Filters(chosen.language, chosen.region, slug)
        items = _items(context, session, narrowed)
        label = labels.get(chosen.language or "en") or labels.get("en") or slug
        info = _info(
            context, form, label, f"/feeds/topics/{slug}", "/", items,
            Filters(chosen.language, chosen.region, None),
        )  # fmt: skip
        return _respond(context, form, info, items)


def _items(
    context: PortalContext,
    session: Session,
    chosen: Filters,
    source_id: str | None = None,
) -> list[Item]:
    return latest_stories(
        session,
        context.config.feed_size,
        source_id=source_id,
        language=chosen.language,
        region=chosen.region,
        topic=chosen.topic,
    )


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
    chosen: Filters,
) -> FeedInfo:
    query = chosen.query()
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
        language=chosen.language or "",
        entry_base=context.config.absolute("/"),
    )


def _respond(
    context: PortalContext, form: str, info: FeedInfo, items: Sequence[Item]
) -> Response:
    body = render_feed(context.templates.env, form, info, items)
    return Response(body, media_type=MEDIA_TYPES[form])
