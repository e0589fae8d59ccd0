"""The registration page, its JSON twin, the confirmation link, the status page.

Mounted only when the conductor hands the app a preview fetch and a mail
sender and a secret key signs the links.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from publisher.context import PortalContext, portal
from publisher.i18n import DEFAULT_LOCALE, N_, Catalogues, Message
from publisher.registration_mail import RegistrationMail
from publisher.registrations import (
    LinkExpired,
    MailNotSent,
    MailSender,
    Registering,
    RegistrationForm,
    RegistrationRefused,
    confirm_token,
    is_verified_contact,
    read_confirm_token,
    read_status_token,
    register,
    status_token,
    withdraw,
)
from publisher.source_preview import SourcePreview
from storage.health import source_health
from storage.items import latest_items
from storage.models import Region, Registration
from storage.registrations import find_municipalities

logger = logging.getLogger(__name__)

router = APIRouter()
api_router = APIRouter(prefix="/api/v1", tags=["api"])
Context = Annotated[PortalContext, Depends(portal)]


@dataclass(frozen=True)
class RegistrationDesk:
    """What the registration routes use, set once on the app."""

    registering: Registering
    mail: RegistrationMail
    send_mail: MailSender
    catalogues: Catalogues


def desk(request: Request) -> RegistrationDesk:
    found: RegistrationDesk = request.app.state.registration_desk
    return found


Desk = Annotated[RegistrationDesk, Depends(desk)]


@router.get("/register", response_class=HTMLResponse, name="register")
def registration_page(
    request: Request,
    context: Context,
    q: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    return _form_page(request, context, q, {}, None)


@router.post("/register", response_class=HTMLResponse, name="register_post")
async def register_from_page(
    request: Request,
    context: Context,
    registration: Desk,
    website: Annotated[str, Form(max_length=2000)] = "",
    contact_name: Annotated[str, Form(max_length=200)] = "",
    contact_email: Annotated[str, Form(max_length=320)] = "",
    region_code: Annotated[str, Form(max_length=40)] = "",
    municipality_name: Annotated[str, Form(max_length=300)] = "",
    source_url: Annotated[str, Form(max_length=2000)] = "",
    languages: Annotated[str, Form(max_length=200)] = "",
    homepage: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    form = RegistrationForm(
        website=website,
        contact_name=contact_name,
        contact_email=contact_email,
        region_code=region_code,
        municipality_name=municipality_name,
        source_url=source_url,
        languages=_language_codes(languages),
        honeypot=homepage,
    )
    try:
        _registration_id, preview = await _register(request, registration, form)
    except RegistrationRefused as refusal:
        values = await request.form()
        return _form_page(
            request, context, "", dict(values), refusal.message, refusal.status
        )
    return context.templates.TemplateResponse(
        request,
        "register_done.html",
        {"preview": preview},
        status_code=201,
    )


class RegistrationRequest(BaseModel):
    """A municipality's source, as the registration page sends it."""

    website: str = Field(max_length=2000, description="The municipality's website.")
    contact_name: str = Field(max_length=200)
    contact_email: str = Field(
        max_length=320, description="Receives the confirmation link."
    )
    region_code: str = Field(
        "", max_length=40, description="A municipality of the region tree."
    )
    municipality_name: str = Field(
        "", max_length=300, description="When the tree does not hold it."
    )
    source_url: str = Field(
        "",
        max_length=2000,
        description="The feed or press-release page; empty: found from the website.",
    )
    languages: list[str] = Field(description="ISO 639-1 codes of the content.")
    homepage: str = Field("", max_length=2000, description="Leave empty.")


class ApiPreviewItem(BaseModel):
    title: str
    link: str
    published: datetime | None


class RegistrationReceived(BaseModel):
    id: int
    state: str
    source_url: str
    kind: str = Field(description="feed or page (a press-release listing).")
    title: str
    preview: list[ApiPreviewItem]
    message: str


class RegistrationProblem(BaseModel):
    error: str = Field(description="What was wrong, e.g. not_a_feed, rate_limit.")
    message: str


class Municipality(BaseModel):
    code: str
    name: str
    names: list[str]
    country: str | None
    parent: str | None


@api_router.post(
    "/registrations",
    status_code=201,
    response_model=RegistrationReceived,
    responses={
        409: {"model": RegistrationProblem},
        422: {"model": RegistrationProblem},
        429: {"model": RegistrationProblem},
    },
    summary="Register a municipality's source",
)
async def register_from_api(
    request: Request, body: RegistrationRequest, registration: Desk
) -> Response:
    form = RegistrationForm(
        website=body.website,
        contact_name=body.contact_name,
        contact_email=body.contact_email,
        region_code=body.region_code,
        municipality_name=body.municipality_name,
        source_url=body.source_url,
        languages=[code.strip().lower() for code in body.languages],
        honeypot=body.homepage,
    )
    translations = registration.catalogues.translations(_locale(request))
    try:
        registration_id, preview = await _register(request, registration, form)
    except RegistrationRefused as refusal:
        problem = RegistrationProblem(
            error=refusal.outcome, message=_translate(translations, refusal.message)
        )
        return JSONResponse(problem.model_dump(), status_code=refusal.status)

    received = RegistrationReceived(
        id=registration_id,
        state="unconfirmed",
        source_url=preview.url,
        kind=preview.kind,
        title=preview.title,
        preview=[
            ApiPreviewItem(title=i.title, link=i.link, published=i.published)
            for i in preview.items
        ],
        message=translations.gettext(SENT),
    )
    return JSONResponse(received.model_dump(mode="json"), status_code=201)


@api_router.get(
    "/registrations/municipalities",
    response_model=list[Municipality],
    summary="Municipalities of the region tree by name, in any language",
)
def municipalities(
    context: Context, q: Annotated[str, Query(min_length=2, max_length=100)]
) -> list[Municipality]:
    with context.sessions() as session:
        return [
            Municipality(
                code=r.code,
                name=r.name,
                names=list(r.names or ()),
                country=r.country,
                parent=r.parent,
            )
            for r in find_municipalities(session, q)
        ]


SENT = N_(
    "We sent you an e-mail with a link; the registration counts once you have "
    "opened it."
)


async def _register(
    request: Request, registration: RegistrationDesk, form: RegistrationForm
) -> tuple[int, SourcePreview]:
    address = request.client.host if request.client else "unknown"
    locale = _locale(request)
    accepted, stored = await register(registration.registering, form, address, locale)

    registering = registration.registering
    policy = registering.policy
    confirm = confirm_token(policy.secret_key, stored.id, registering.now())
    message = registration.mail.confirmation(
        stored,
        f"/register/confirm/{confirm}",
        f"/register/status/{accepted.status_token}",
        registering.now(),
        policy.link_hours,
    )
    try:
        await run_in_threadpool(_send, registration, message)
    except MailNotSent as error:
        await run_in_threadpool(withdraw, registering, stored.id, str(error))
        raise RegistrationRefused(
            "mail_failed",
            Message(
                N_("The confirmation e-mail could not be sent; please try again later.")
            ),
            503,
            str(error),
        ) from error
    return accepted.registration_id, accepted.preview


def _send(registration: RegistrationDesk, message: EmailMessage) -> None:
    registration.send_mail(message)


@router.get(
    "/register/confirm/{token}", response_class=HTMLResponse, name="register_confirm"
)
def confirm(
    request: Request, token: str, context: Context, registration: Desk
) -> Response:
    policy = registration.registering.policy
    try:
        registration_id = read_confirm_token(
            policy.secret_key, token, timedelta(hours=policy.link_hours), context.now()
        )
    except LinkExpired:
        return _notice(
            request,
            context,
            N_("This link has expired. Please register again."),
            410,
        )
    with context.sessions() as session:
        found = session.get(Registration, registration_id) if registration_id else None
        if found is None:
            raise HTTPException(404, "No registration behind this link.")
        if found.state == "unconfirmed":
            found.state = "confirmed"
            found.confirmed_at = context.now()
            found.verified = is_verified_contact(found.contact_email, found.website)
            session.commit()
            logger.info(
                "Registration confirmed",
                extra={"registration_id": found.id, "verified": found.verified},
            )
        status_path = request.url_for(
            "register_status",
            token=status_token(policy.secret_key, found.id),
        )
    return _notice(
        request,
        context,
        N_("Thank you: the registration is confirmed and waits for our editors."),
        200,
        str(status_path),
    )


@router.get(
    "/register/status/{token}", response_class=HTMLResponse, name="register_status"
)
def status(
    request: Request, token: str, context: Context, registration: Desk
) -> Response:
    registration_id = read_status_token(
        registration.registering.policy.secret_key, token
    )
    with context.sessions() as session:
        found = session.get(Registration, registration_id) if registration_id else None
        if found is None:
            raise HTTPException(404, "No registration behind this link.")
        health = items = None
        if found.source_id is not None:
            health = source_health(session, context.now()).get(found.source_id)
            items = latest_items(session, 10, source_id=found.source_id)
        return context.templates.TemplateResponse(
            request,
            "register_status.html",
            {"registration": found, "health": health, "items": items},
        )


def _form_page(
    request: Request,
    context: PortalContext,
    query: str,
    values: dict[str, object],
    error: Message | None,
    status: int = 200,
) -> Response:
    with context.sessions() as session:
        found = find_municipalities(session, query) if query else []
        chosen = session.get(Region, str(values.get("region_code") or "")[:40])
        if chosen is not None and chosen not in found:
            # A refused form keeps the municipality its sender chose.
            found.insert(0, chosen)
        return context.templates.TemplateResponse(
            request,
            "register.html",
            {"query": query, "found": found, "values": values, "error": error},
            status_code=status,
        )


def _notice(
    request: Request,
    context: PortalContext,
    text: str,
    status: int,
    status_url: str | None = None,
) -> Response:
    return context.templates.TemplateResponse(
        request,
        "register_notice.html",
        {"notice": text, "status_url": status_url},
        status_code=status,
    )


def _language_codes(text: str) -> list[str]:
    return [
        code.strip().lower()
        for code in text.replace(";", ",").split(",")
        if code.strip()
    ]


def _locale(request: Request) -> str:
    return str(request.scope.get("state", {}).get("locale", DEFAULT_LOCALE))


def _translate(translations: object, message: Message) -> str:
    text = translations.gettext(message.text)  # type: ignore[attr-defined]
    return text % message.params if message.params else text
