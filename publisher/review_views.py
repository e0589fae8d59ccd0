"""The review queue: items of new sources wait here until an editor approves
or rejects them, one or many at once, seeing why each was classified as it
was. Routes need a signed-in editor, POSTs their form's CSRF token; every
decision is audited.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from publisher.curation_views import record, refresh_stories
from publisher.editor_views import Context, CsrfField, EditorOnly, check_csrf
from storage.curation import item_views
from storage.models import Item
from storage.publication import PUBLISHED, REJECTED, decide_review
from storage.review import QueueFilter, queue_sources, review_queue

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/editor")
Filter = Annotated[str | None, Query(max_length=64)]


@router.get("/review", response_class=HTMLResponse, name="editor_review")
def review_page(
    request: Request,
    context: Context,
    editor: EditorOnly,
    source: Filter = None,
    region: Filter = None,
    topic: Filter = None,
    lang: Filter = None,
) -> Response:
    filters = QueueFilter(source or None, region or None, topic or None, lang or None)
    with context.sessions() as session:
        items = review_queue(session, filters)
        return context.templates.TemplateResponse(
            request,
            "editor_review.html",
            {
                "editor": editor,
                "views": item_views(session, items),
                "filters": filters,
                "sources": queue_sources(session),
                "topics": sorted(context.config.topic_labels),
            },
        )


@router.post("/review", name="editor_review_decide")
def decide(
    request: Request,
    context: Context,
    editor: EditorOnly,
    csrf_token: CsrfField,
    decision: Annotated[str, Form(pattern="^(approve|reject)$")],
    item_id: Annotated[list[int], Form()] = [],  # noqa: B006 (FastAPI reads it)
) -> Response:
    check_csrf(editor, csrf_token)
    now = context.now()
    review = PUBLISHED if decision == "approve" else REJECTED
    with context.sessions() as session:
        befores = {
            found: state
            for found, state in session.execute(
                select(Item.id, Item.review).where(Item.id.in_(item_id))
            )
        }
        items = decide_review(session, item_id, review, editor.email, now)
        for item in items:
            record(
                session, editor, f"item.{decision}", ("item", item.id), now,
                {"review": befores[item.id]}, {"review": item.review},
            )  # fmt: skip
        refresh_stories(session, {item.story_id for item in items}, now)
        session.commit()
    logger.info(
        "Items reviewed",
        extra={"editor": editor.email, "decision": decision, "items": len(items)},
    )
    return RedirectResponse(
        str(request.url_for("editor_review").include_query_params(**_kept(request))),
        status_code=303,
    )


def _kept(request: Request) -> dict[str, str]:
    """The queue's filters, kept across a decision (they come in the query)."""
    return {
        name: value
        for name, value in request.query_params.items()
        if name in ("source", "region", "topic", "lang") and value
    }
