"""Editors' review of registrations: approve, reject with a reason, ask for
changes. Each decision is audited and e-mailed to the registrant; an approved
registration becomes a source with trust "new", crawled from then on.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from publisher.context import PortalContext
from publisher.editor_views import Context, CsrfField, EditorOnly, check_csrf
from publisher.registration_views import Desk
from publisher.registrations import MailNotSent, status_token
from storage.audit import Actor, record_action
from storage.models import Region, Registration, Source
from storage.registrations import new_source_id, registrations_for_review

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/editor")
DECISIONS = {"approve": "approved", "reject": "rejected", "changes": "changes"}


@router.get("/registrations", response_class=HTMLResponse, name="editor_registrations")
def registrations_page(
    request: Request, context: Context, editor: EditorOnly
) -> Response:
    with context.sessions() as session:
        rows = registrations_for_review(session)
        return context.templates.TemplateResponse(
            request,
            "editor_registrations.html",
            {"editor": editor, "rows": rows},
        )


@router.post("/registrations/{registration_id}", name="editor_registration_decide")
async def decide(
    request: Request,
    registration_id: int,
    context: Context,
    editor: EditorOnly,
    registration_desk: Desk,
    csrf_token: CsrfField,
    action: Annotated[str, Form(pattern="^(approve|reject|changes)$")],
    note: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    check_csrf(editor, csrf_token)
    if action != "approve" and not note.strip():
        raise HTTPException(422, "Say why, for the registrant to read.")

    decided = await run_in_threadpool(
        _decide, context, registration_id, Actor(editor.email, editor.editor_id),
        action, note.strip(),
    )  # fmt: skip
    secret = registration_desk.registering.policy.secret_key
    message = registration_desk.mail.decision(
        decided,
        f"/register/status/{status_token(secret, decided.id)}",
        context.now(),
    )
    try:
        await run_in_threadpool(registration_desk.send_mail, message)
    except MailNotSent as error:
        # The decision stands; the registrant sees it on the status page.
        logger.error(
            "Decision e-mail not sent",
            extra={"registration_id": decided.id, "error": str(error)},
        )
    return RedirectResponse(
        str(request.url_for("editor_registrations")), status_code=303
    )


def _decide(
    context: PortalContext,
    registration_id: int,
    actor: Actor,
    action: str,
    note: str,
) -> Registration:
    now = context.now()
    with context.sessions() as session:
        registration = session.get(Registration, registration_id)
        if registration is None:
            raise HTTPException(404, f"No registration with id {registration_id}")
        if registration.state not in ("unconfirmed", "confirmed") or (
            action == "approve" and registration.state != "confirmed"
        ):
            raise HTTPException(
                409, "Only a confirmed registration waiting for review can be approved."
            )

        before = {"state": registration.state}
        registration.state = DECISIONS[action]
        registration.decided_at = now
        registration.decided_by = actor.name
        registration.decision_note = note or None
        if action == "approve":
            registration.source_id = _add_source(session, registration, now).id
        record_action(
            session,
            actor,
            f"registration.{action}",
            ("registration", registration.id),
            now,
            before=before,
            after={"state": registration.state, "source_id": registration.source_id},
            note=note or None,
        )
        session.commit()
        session.refresh(registration)
        session.expunge(registration)
    logger.info(
        "Registration decided",
        extra={
            "registration_id": registration_id,
            "decision": registration.state,
            "source_id": registration.source_id,
        },
    )
    return registration


def _add_source(session: Session, registration: Registration, now: datetime) -> Source:
    """The registration's source, due at once; its items wait for review."""
    region = (
        session.get(Region, registration.region_code)
        if registration.region_code
        else None
    )
    source = Source(
        id=new_source_id(session, registration.municipality_name),
        name=registration.municipality_name,
        kind=registration.source_kind,
        url=registration.source_url,
        registry_url=registration.source_url,
        website=registration.website,
        publisher="municipality",
        country=registration.country,
        languages=list(registration.languages),
        trust="new",
        state="active",
        created_at=now,
        updated_at=now,
        next_fetch_at=now,
        consecutive_failures=0,
        moved_count=0,
        **_place(region),
    )
    session.add(source)
    session.flush()
    return source


def _place(region: Region | None) -> dict[str, str | None]:
    """The source's place as the region classifier reads it: a LAU code, or
    the country and name of a municipality the shipped tree holds, under its
    NUTS 3 region."""
    if region is None:
        return {"region": None, "municipality": None}
    parent = region.parent if region.parent and len(region.parent) > 2 else None
    if region.code.startswith("lau:"):
        return {"region": parent, "municipality": region.code.rsplit(":", 1)[1]}
    # Limitation: the source's municipality column holds 32 characters, so a
    # longer name is cut and the source is then placed by its NUTS 3 region.
    name = f"{region.country}/{region.name}"
    return {"region": parent, "municipality": name[:32]}
