"""Editors' curation: an item's or a story's page with what an editor may
change on it, and a source's place.

Every route needs a signed-in editor, every POST its form's CSRF token (see
editor_views); every change is written to the audit log, with before and
after, in the transaction that makes it.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from publisher.auth import SignedIn
from publisher.context import PortalContext
from publisher.editor_views import (
    Context,
    CsrfField,
    EditorOnly,
    check_csrf,
    source_or_404,
    source_state,
)
from storage.audit import Actor, record_action
from storage.curation import (
    HOME,
    CurationError,
    State,
    correct_title,
    end_feature,
    feature_story,
    item_views,
    reclassify_source_items,
    set_hidden,
    set_item_regions,
    set_item_topics,
    story_features,
)
from storage.models import Feature, Item, Source, Story
from storage.stories import StoryError, merge_stories, refresh_story, split_item
from storage.stories import story_items as members_of

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/editor")
CODE = "^[A-Za-z0-9:_-]{2,40}$"


@router.get("/items/{item_id}", response_class=HTMLResponse, name="editor_item")
def item_page(
    request: Request, item_id: int, context: Context, editor: EditorOnly
) -> Response:
    with context.sessions() as session:
        item = _item(session, item_id)
        [view] = item_views(session, [item])
        return context.templates.TemplateResponse(
            request,
            "editor_item.html",
            {
                "editor": editor,
                "view": view,
                "topics": sorted(context.config.topic_labels),
                "corrected_topics": {
                    row.slug for row in view.topics if row.reason == "editor"
                },
                "corrected_regions": sorted(
                    row.code
                    for row in view.regions
                    if row.reason == "editor" and row.via is None
                ),
            },
        )


@router.post("/items/{item_id}", name="editor_item_change")
def change_item(
    request: Request,
    item_id: int,
    context: Context,
    editor: EditorOnly,
    csrf_token: CsrfField,
    action: Annotated[str, Form(pattern="^(hide|unhide|title|regions|topics|split)$")],
    title: Annotated[str, Form(max_length=2000)] = "",
    regions: Annotated[str, Form(max_length=500)] = "",
    topic: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI reads it)
) -> Response:
    check_csrf(editor, csrf_token)
    now = context.now()
    with context.sessions() as session:
        item = _item(session, item_id)
        story = item.story_id
        try:
            before, after = _change_item(
                context, session, editor, item, action, title, regions, topic, now
            )
        except (CurationError, StoryError) as problem:
            raise HTTPException(422, str(problem)) from problem
        record(session, editor, f"item.{action}", ("item", item_id), now, before, after)
        refresh_stories(session, {story, item.story_id}, now)
        session.commit()
    return RedirectResponse(
        str(request.url_for("editor_item", item_id=item_id)), status_code=303
    )


def _change_item(
    context: PortalContext,
    session: Session,
    editor: SignedIn,
    item: Item,
    action: str,
    title: str,
    regions: str,
    topics: list[str],
    now: datetime,
) -> tuple[State, State]:
    if action in ("hide", "unhide"):
        return set_hidden(session, item, action == "hide", now)
    if action == "title":
        return correct_title(session, item, title)
    if action == "topics":
        return set_item_topics(session, item, topics, list(context.config.topic_labels))
    if action == "split":
        before = {"story_id": item.story_id}
        split_item(session, item.id, now, editor.email)
        return before, {"story_id": item.story_id}
    codes = [code for code in regions.replace(",", " ").split() if code]
    decisions = []
    if codes:
        if context.regions is None:
            raise CurationError("No region tree is loaded; regions cannot be set.")
        decisions = context.regions(codes, editor.email)
    return set_item_regions(session, item, decisions)


@router.get("/stories/{story_id}", response_class=HTMLResponse, name="editor_story")
def story_page(
    request: Request, story_id: int, context: Context, editor: EditorOnly
) -> Response:
    with context.sessions() as session:
        story = _story(session, story_id)
        members = members_of(session, story_id, public=False)
        return context.templates.TemplateResponse(
            request,
            "editor_story.html",
            {
                "editor": editor,
                "story": story,
                "views": item_views(session, members),
                "features": story_features(session, story_id, context.now()),
                "tomorrow": (context.now() + timedelta(days=7)).date().isoformat(),
            },
        )


@router.post("/stories/{story_id}", name="editor_story_change")
def change_story(
    request: Request,
    story_id: int,
    context: Context,
    editor: EditorOnly,
    csrf_token: CsrfField,
    action: Annotated[str, Form(pattern="^(hide|unhide|feature|unfeature|merge)$")],
    place: Annotated[str, Form(max_length=40)] = HOME,
    until: Annotated[str, Form(max_length=10)] = "",
    feature_id: Annotated[int, Form()] = 0,
    other: Annotated[int, Form()] = 0,
) -> Response:
    check_csrf(editor, csrf_token)
    now = context.now()
    with context.sessions() as session:
        story = _story(session, story_id)
        try:
            before, after = _change_story(
                session, editor, story, action, place, until, feature_id, other, now
            )
        except (CurationError, StoryError) as problem:
            raise HTTPException(422, str(problem)) from problem
        record(
            session, editor, f"story.{action}", ("story", story_id), now, before, after
        )
        session.commit()
    return RedirectResponse(
        str(request.url_for("editor_story", story_id=story_id)), status_code=303
    )


def _change_story(
    session: Session,
    editor: SignedIn,
    story: Story,
    action: str,
    place: str,
    until: str,
    feature_id: int,
    other: int,
    now: datetime,
) -> tuple[State, State]:
    if action in ("hide", "unhide"):
        return set_hidden(session, story, action == "hide", now)
    if action == "merge":
        before = {"merged_story": other, "kept_story": story.id}
        merge_stories(session, story.id, other, now, editor.email)
        return before, {"story_id": story.id}
    if action == "unfeature":
        feature = session.get(Feature, feature_id)
        if feature is None or feature.story_id != story.id:
            raise CurationError(f"Story {story.id} has no feature {feature_id}.")
        before = _feature_state(feature)
        end_feature(session, feature, now)
        return before, _feature_state(feature)
    feature = feature_story(
        session, story.id, _place(place), _feature_end(until), editor.email, now
    )
    return {}, _feature_state(feature)


def _feature_state(feature: Feature) -> State:
    return {
        "feature": feature.id,
        "place": feature.place,
        "until": feature.until,
        "ended_at": feature.ended_at,
    }


def _place(value: str) -> str:
    value = value.strip() or HOME
    if value != HOME and not re.fullmatch(CODE, value):
        raise CurationError("Feature on 'home' or on a region code such as AT130.")
    return value


def _feature_end(value: str) -> datetime:
    """The end of the chosen day, UTC: a feature runs through that day."""
    try:
        day = date.fromisoformat(value)
    except ValueError as error:
        raise CurationError(
            "Give the last day of the feature as YYYY-MM-DD."
        ) from error
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC)


@router.post("/sources/{source_id}/region", name="editor_source_region")
def move_source(
    request: Request,
    source_id: str,
    context: Context,
    editor: EditorOnly,
    csrf_token: CsrfField,
    region: Annotated[str, Form(max_length=16)] = "",
    municipality: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    """Set the source's country or NUTS region (and municipality code) after
    checking it against the tree; the classifiers read its items again."""
    check_csrf(editor, csrf_token)
    now = context.now()
    with context.sessions() as session:
        source = source_or_404(session, source_id)
        before = source_state(source)
        try:
            _place_source(context, editor, source, region, municipality.strip())
        except CurationError as problem:
            raise HTTPException(422, str(problem)) from problem
        source.updated_at = now
        reclassify_source_items(session, source_id)
        record(
            session, editor, "source.region", ("source", source_id), now, before,
            source_state(source),
        )  # fmt: skip
        session.commit()
    return RedirectResponse(
        f"{request.url_for('editor_home')}#source-{quote(source_id)}", status_code=303
    )


def _place_source(
    context: PortalContext,
    editor: SignedIn,
    source: Source,
    region: str,
    municipality: str,
) -> None:
    if context.regions is None or not region.strip():
        raise CurationError("Give the source's country or NUTS code (AT130).")
    node = context.regions([region.strip().upper()], editor.email)[0]
    if node.level in ("eu", "municipality"):
        raise CurationError(
            "The region is a country or NUTS code (AT, AT130); put a "
            "municipality's code in its own field."
        )
    if municipality and not municipality.replace("/", "").replace(" ", "").isalnum():
        raise CurationError("The municipality is its LAU code (90001) or COUNTRY/Name.")
    # Limitation: sources.yaml still names the old place, and the next
    # 'sources sync' puts the registry's place back; change it there too.
    source.country = node.country
    source.region = node.code if node.level != "country" else None
    source.municipality = municipality or None


def _item(session: Session, item_id: int) -> Item:
    item = session.scalar(
        select(Item).options(joinedload(Item.source)).where(Item.id == item_id)
    )
    if item is None:
        raise HTTPException(404, f"No item {item_id}")
    return item


def _story(session: Session, story_id: int) -> Story:
    story = session.get(Story, story_id)
    if story is None:
        raise HTTPException(404, f"No story {story_id}")
    return story


def refresh_stories(session: Session, stories: set[int | None], now: datetime) -> None:
    # A story's headline is chosen among its shown items: a change of what is
    # shown may change the headline.
    for story_id in sorted(s for s in stories if s is not None):
        refresh_story(session, story_id, now)


def record(
    session: Session,
    editor: SignedIn,
    action: str,
    subject: tuple[str, str | int],
    now: datetime,
    before: State,
    after: State,
) -> None:
    record_action(
        session, Actor(editor.email, editor.editor_id), action, subject, now,
        before=before, after=after,
    )  # fmt: skip
