"""Subscribing to e-mail digests, and the pages a signed link opens: confirm,
manage, download or delete one's data, unsubscribe.

No page tells whether an address is known: a subscribe form gets the same
answer, and the confirmation e-mail goes out after the answer, whatever the
address. The signed token in a link is the reader's only key, so the forms
behind it need no cookie or CSRF token, and the one-click unsubscribe of RFC
8058 works from a mail program's POST.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from publisher.context import PortalContext, portal
from publisher.i18n import LOCALES, N_, Message
from publisher.mails import MailTemplates, OutgoingMail, confirmation_message
from publisher.subscription_links import LinkToken, Purpose, SubscriptionLinks
from storage.models import Subscription
from storage.subscriptions import (
    FREQUENCIES,
    PENDING,
    AddressError,
    Preferences,
    confirm_subscription,
    erase_address_data,
    export_address_data,
    find_regions,
    masked_address,
    normalise_address,
    pause_subscription,
    preferences_of,
    request_subscription,
    resume_subscription,
    set_preferences,
    subscription_by_id,
    unsubscribe,
)

logger = logging.getLogger(__name__)

router = APIRouter()
Context = Annotated[PortalContext, Depends(portal)]
# The EU's official languages: what an item can be written in.
ITEM_LANGUAGES = (
    "bg", "cs", "da", "de", "el", "en", "es", "et", "fi", "fr", "ga", "hr",
    "hu", "it", "lt", "lv", "mt", "nl", "pl", "pt", "ro", "sk", "sl", "sv",
)  # fmt: skip
CONSENT = N_(
    "I want to receive these e-mails, and agree that the portal keeps my "
    "address and choices for them until I unsubscribe or delete them."
)
Codes = Annotated[list[str], Form(max_length=40)]


@dataclass(frozen=True)
class SubscriptionMail:
    """What the subscription pages need to write to readers, handed in by the
    conductor: signed links, the e-mail templates, the sender, and a way to
    send one message."""

    links: SubscriptionLinks
    templates: MailTemplates
    sender: str
    send: Callable[[OutgoingMail], object]


def _mail(request: Request) -> SubscriptionMail | None:
    mail: SubscriptionMail | None = getattr(
        request.app.state, "subscription_mail", None
    )
    return mail if mail is not None and mail.links.enabled else None


@router.get("/subscribe", response_class=HTMLResponse, name="subscribe")
def subscribe_form(
    request: Request,
    context: Context,
    region: Annotated[list[str], Query(max_length=40)] = [],  # noqa: B006
    topic: Annotated[list[str], Query(max_length=64)] = [],  # noqa: B006
) -> Response:
    with context.sessions() as session:
        found = find_regions(session, region[:20])
    wanted = Preferences(tuple(found), tuple(t for t in topic if _is_topic(context, t)))
    return _form(request, context, wanted, found, email="", errors=[])


@router.post("/subscribe", response_class=HTMLResponse, name="subscribe_post")
def subscribe(
    request: Request,
    context: Context,
    tasks: BackgroundTasks,
    email: Annotated[str, Form(max_length=320)] = "",
    regions: Codes = [],  # noqa: B006
    place: Annotated[str, Form(max_length=200)] = "",
    topics: Codes = [],  # noqa: B006
    languages: Codes = [],  # noqa: B006
    frequency: Annotated[str, Form(max_length=8)] = "daily",
    locale: Annotated[str, Form(max_length=8)] = "en",
    consent: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    mail = _mail(request)
    if mail is None:
        return _unavailable(request, context)
    errors: list[Message] = []
    with context.sessions() as session:
        names, wanted = _wishes(
            session, context, regions, place, topics, languages, frequency, locale
        )
        if place.strip() and all(code in regions for code in names):
            errors.append(Message(N_("No place called %(place)s."), {"place": place}))
        try:
            address = normalise_address(email)
        except AddressError:
            errors.append(Message(N_("This is not an e-mail address we can write to.")))
        if not names:
            errors.append(Message(N_("Choose at least one region.")))
        if consent != "yes":
            errors.append(Message(N_("Tick the box to agree, or nothing can be sent.")))
        if errors:
            return _form(request, context, wanted, names, email, errors, 400)

        consent_text = mail.templates.gettext(wanted.locale, CONSENT)
        domain = mail.sender.rpartition("@")[2].rstrip(">") or "localhost"
        now = context.now()
        pending = request_subscription(session, address, wanted, consent_text, now)
        message = None
        if pending is not None:
            message = confirmation_message(
                mail.templates,
                locale=wanted.locale,
                sender=mail.sender,
                to=address,
                confirm_url=mail.links.url(
                    "confirm", pending.id, pending.nonce, wanted.locale, now
                ),
                frequency=wanted.frequency,
                message_id=f"<confirm.{pending.id}.{pending.nonce[:8]}@{domain}>",
                now=now,
                hours=mail.links.confirm_hours,
            )
        session.commit()

    # Sent after the answer, so that the answer takes as long whether the
    # address is new, known, or asked too often today.
    if message is not None and pending is not None:
        tasks.add_task(_send_confirmation, mail, message, pending.id)
    return _page(request, context, "sent", status=200)


def _send_confirmation(
    mail: SubscriptionMail, message: OutgoingMail, subscription_id: int
) -> None:
    try:
        mail.send(message)
    except Exception as error:  # the reader has had their answer already
        logger.error(
            "Confirmation e-mail not sent",
            extra={"subscription_id": subscription_id, "error": str(error)},
        )


@router.get("/subscriptions/confirm/{token}", response_class=HTMLResponse)
def confirm_page(request: Request, context: Context, token: str) -> Response:
    return _button_page(request, context, "confirm", token)


@router.post(
    "/subscriptions/confirm/{token}",
    response_class=HTMLResponse,
    name="subscription_confirm",
)
def confirm(request: Request, context: Context, token: str) -> Response:
    """A POST, so that a mail scanner following the link confirms nothing."""
    with context.sessions() as session:
        found = _open(request, context, "confirm", token, session)
        if isinstance(found, Response):
            return found
        subscription = confirm_subscription(session, found, context.now())
        session.commit()
        logger.info(
            "Subscription confirmed", extra={"subscription_id": subscription.id}
        )
        return _to_manage(request, context, subscription)


@router.get(
    "/subscriptions/manage/{token}",
    response_class=HTMLResponse,
    name="subscription_manage",
)
def manage_page(request: Request, context: Context, token: str) -> Response:
    with context.sessions() as session:
        found = _open(request, context, "manage", token, session)
        if isinstance(found, Response):
            return found
        names = find_regions(session, found.regions)
        return _manage(request, context, found, names, token)


@router.post(
    "/subscriptions/manage/{token}",
    response_class=HTMLResponse,
    name="subscription_manage_post",
)
def manage(
    request: Request,
    context: Context,
    token: str,
    action: Annotated[str, Form(max_length=16)],
    regions: Codes = [],  # noqa: B006
    place: Annotated[str, Form(max_length=200)] = "",
    topics: Codes = [],  # noqa: B006
    languages: Codes = [],  # noqa: B006
    frequency: Annotated[str, Form(max_length=8)] = "daily",
    locale: Annotated[str, Form(max_length=8)] = "en",
) -> Response:
    now = context.now()
    with context.sessions() as session:
        found = _open(request, context, "manage", token, session)
        if isinstance(found, Response):
            return found
        if action == "delete":
            erase_address_data(session, found.email)
            session.commit()
            logger.info("Subscriber data erased", extra={"subscription_id": found.id})
            return _page(request, context, "deleted")
        if action == "pause":
            pause_subscription(found, now)
        elif action == "resume":
            resume_subscription(found, now)
        elif action == "unsubscribe":
            unsubscribe(found, now)
        elif action == "save":
            names, wanted = _wishes(
                session, context, regions, place, topics, languages, frequency, locale
            )
            if names:
                set_preferences(found, wanted, now)
        session.commit()
    return RedirectResponse(
        str(request.url_for("subscription_manage", token=token)), status_code=303
    )


@router.get("/subscriptions/manage/{token}/data.json", name="subscription_data")
def download_data(request: Request, context: Context, token: str) -> Response:
    """Everything stored about the address (GDPR art. 15 and 20)."""
    with context.sessions() as session:
        found = _open(request, context, "manage", token, session)
        if isinstance(found, Response):
            return found
        data = export_address_data(session, found.email)
    return Response(
        json.dumps(data, ensure_ascii=False, indent=2),
        media_type="application/json",
        headers={
            "Content-Disposition": 'attachment; filename="my-subscription.json"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/subscriptions/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe_page(request: Request, context: Context, token: str) -> Response:
    return _button_page(request, context, "unsubscribe", token)


def _button_page(
    request: Request, context: Context, purpose: Purpose, token: str
) -> Response:
    """A link's page: one button that POSTs, so that following the link (as
    a mail scanner does) changes nothing."""
    found = _open(request, context, purpose, token)
    if isinstance(found, Response):
        return found
    return _page(request, context, purpose, token=token)


@router.post(
    "/subscriptions/unsubscribe/{token}",
    response_class=HTMLResponse,
    name="subscription_unsubscribe",
)
def unsubscribe_now(request: Request, context: Context, token: str) -> Response:
    """RFC 8058 one-click: a mail program POSTs List-Unsubscribe=One-Click
    here without cookies; the button of the page above does the same."""
    with context.sessions() as session:
        found = _open(request, context, "unsubscribe", token, session)
        if isinstance(found, Response):
            return found
        unsubscribe(found, context.now())
        session.commit()
        logger.info("Subscription ended", extra={"subscription_id": found.id})
        manage_url = _manage_url(request, context, found)
    return _page(request, context, "unsubscribed", manage_url=manage_url)


def _open(
    request: Request,
    context: Context,
    purpose: Purpose,
    token: str,
    session: Session | None = None,
) -> Subscription | Response:
    """The subscription a link opens, or the page saying why it opens none."""
    mail = _mail(request)
    if mail is None:
        return _unavailable(request, context)
    parsed = LinkToken.parse(token)
    if parsed is None:
        return _page(request, context, "invalid", status=404)
    if session is None:
        with context.sessions() as own:
            return _open(request, context, purpose, token, own)
    subscription = subscription_by_id(session, parsed.subscription_id)
    if subscription is None:
        return _page(request, context, "invalid", status=404)
    verdict = mail.links.check(purpose, parsed, subscription.nonce, context.now())
    if verdict == "expired":
        return _page(request, context, "expired", status=410)
    if verdict != "valid" or (purpose != "confirm" and subscription.state == PENDING):
        return _page(request, context, "invalid", status=404)
    return subscription


def _to_manage(
    request: Request, context: Context, subscription: Subscription
) -> Response:
    return RedirectResponse(
        _manage_url(request, context, subscription), status_code=303
    )


def _manage_url(request: Request, context: Context, subscription: Subscription) -> str:
    mail = _mail(request)
    assert mail is not None
    token = mail.links.token(
        "manage", subscription.id, subscription.nonce, context.now()
    )
    return str(request.url_for("subscription_manage", token=token))


def _wishes(
    session: Session,
    context: Context,
    regions: list[str],
    place: str,
    topics: list[str],
    languages: list[str],
    frequency: str,
    locale: str,
) -> tuple[dict[str, str], Preferences]:
    """What a form asks for, less what it cannot mean: the regions found
    (code to name, the typed place last) and the preferences."""
    names = find_regions(session, regions[:50])
    if place.strip():
        names.update(find_regions(session, [place.strip()], by_name=True))
    wanted = Preferences(
        tuple(names),
        tuple(t for t in dict.fromkeys(topics) if _is_topic(context, t)),
        tuple(code for code in dict.fromkeys(languages) if code in ITEM_LANGUAGES),
        frequency if frequency in FREQUENCIES else "daily",
        locale if locale in LOCALES else "en",
    )
    return names, wanted


def _is_topic(context: Context, slug: str) -> bool:
    return slug in context.config.topic_labels


def _form(
    request: Request,
    context: Context,
    wanted: Preferences,
    names: dict[str, str],
    email: str,
    errors: list[Message],
    status: int = 200,
) -> Response:
    return context.templates.TemplateResponse(
        request,
        "subscribe.html",
        {
            "wanted": wanted,
            "region_names": names,
            "email": email,
            "errors": errors,
            "topic_labels": context.config.topic_labels,
            "item_languages": ITEM_LANGUAGES,
            "consent": CONSENT,
        },
        status_code=status,
    )


def _manage(
    request: Request,
    context: Context,
    subscription: Subscription,
    names: dict[str, str],
    token: str,
) -> Response:
    return context.templates.TemplateResponse(
        request,
        "subscription_manage.html",
        {
            "subscription": subscription,
            "wanted": preferences_of(subscription),
            "region_names": names,
            "address": masked_address(subscription.email),
            "token": token,
            "topic_labels": context.config.topic_labels,
            "item_languages": ITEM_LANGUAGES,
        },
    )


def _page(
    request: Request, context: Context, kind: str, status: int = 200, **values: Any
) -> Response:
    return context.templates.TemplateResponse(
        request,
        "subscription_page.html",
        {"kind": kind, **values},
        status_code=status,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def _unavailable(request: Request, context: Context) -> Response:
    return _page(request, context, "unavailable", status=503)
