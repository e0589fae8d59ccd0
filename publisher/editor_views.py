"""Editors' pages: login, the sources they look after, editors, the audit log.

Every route here but the login form needs a signed-in editor; the admin
routes need an admin. A GET without a session is sent to the login form; a
POST without one, or without its form's CSRF token, is refused with 403.
Every change is written to the audit log in the same transaction.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from publisher.auth import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    AuthError,
    LoginRefused,
    SignedIn,
    authenticate,
    end_session,
    new_login_csrf,
    same_token,
    signed_in,
    start_session,
)
from publisher.context import PortalContext, portal
from publisher.i18n import N_, Message
from storage.audit import Actor, AuditFilter, audit_entries, record_action
from storage.editors import (
    ROLES,
    add_editor,
    close_sessions_of,
    editor_by_email,
    editor_by_id,
    list_editors,
)
from storage.health import source_health
from storage.models import Source
from storage.publication import TRUST_LEVELS, apply_trust
from storage.review import source_activity
from storage.sources import list_sources
from storage.stories import refresh_story

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/editor")
Context = Annotated[PortalContext, Depends(portal)]


class NotSignedIn(Exception):
    """Raised by the dependency below; the app turns it into a redirect."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


def current_editor(request: Request, context: Context) -> SignedIn:
    token = request.cookies.get(SESSION_COOKIE)
    with context.sessions() as session:
        editor = signed_in(session, token, context.now())
    if editor is not None:
        return editor
    if request.method in ("GET", "HEAD"):
        raise NotSignedIn(request.url.path)
    raise HTTPException(403, "Log in as an editor first.")


def current_admin(editor: Annotated[SignedIn, Depends(current_editor)]) -> SignedIn:
    if not editor.is_admin:
        raise HTTPException(403, "Only an admin may do this.")
    return editor


EditorOnly = Annotated[SignedIn, Depends(current_editor)]
AdminOnly = Annotated[SignedIn, Depends(current_admin)]
CsrfField = Annotated[str, Form(alias="csrf_token", max_length=100)]


def check_csrf(editor: SignedIn, token: str) -> None:
    if not same_token(editor.csrf_token, token):
        raise HTTPException(403, "The form has expired; reload the page and retry.")


def login_redirect(request: Request, error: NotSignedIn) -> Response:
    target = request.url_for("editor_login").include_query_params(next=error.next_path)
    return RedirectResponse(str(target), status_code=303)


@router.get("/login", response_class=HTMLResponse, name="editor_login")
def login_form(
    request: Request,
    context: Context,
    next: Annotated[str, Query(max_length=500)] = "",
) -> Response:
    return _login_page(request, context, next, error=None)


@router.post("/login", name="editor_login_post")
def login(
    request: Request,
    context: Context,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1000)],
    csrf_token: CsrfField,
    next: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    if not same_token(request.cookies.get(LOGIN_CSRF_COOKIE), csrf_token):
        return _login_page(
            request,
            context,
            next,
            Message(N_("The form has expired; please try again.")),
            403,
        )

    address = request.client.host if request.client else "unknown"
    now = context.now()
    policy = context.config.login_policy()
    with context.sessions() as session:
        try:
            editor = authenticate(
                session, context.passwords, policy, email, password, address, now
            )
        except LoginRefused as refusal:
            session.commit()
            logger.info(
                "Editor login refused",
                extra={"email": email, "address": address, "reason": str(refusal)},
            )
            return _login_page(request, context, next, refusal.message, 401)
        token = start_session(session, editor, policy, address, now)
        session.commit()

    response = RedirectResponse(_safe_next(request, next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(policy.session_length.total_seconds()),
        httponly=True,
        secure=context.config.secure_cookies,
        samesite="strict",
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
    return response


@router.post("/logout", name="editor_logout")
def logout(
    request: Request, context: Context, editor: EditorOnly, csrf_token: CsrfField
) -> Response:
    check_csrf(editor, csrf_token)
    with context.sessions() as session:
        end_session(session, request.cookies.get(SESSION_COOKIE, ""))
        session.commit()
    response = RedirectResponse(str(request.url_for("home")), status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/", response_class=HTMLResponse, name="editor_home")
def editor_sources(request: Request, context: Context, editor: EditorOnly) -> Response:
    with context.sessions() as session:
        rows = list_sources(session)
        health = source_health(session, context.now())
        return context.templates.TemplateResponse(
            request,
            "editor_sources.html",
            {
                "editor": editor,
                "rows": rows,
                "health": health,
                "trust": TRUST_LEVELS,
                "activity": source_activity(session, context.now()),
            },
        )


@router.post("/sources/{source_id}", name="editor_source_change")
def change_source(
    request: Request,
    source_id: str,
    context: Context,
    editor: EditorOnly,
    csrf_token: CsrfField,
    action: Annotated[str, Form(pattern="^(pause|resume|trust|interval)$")],
    trust: Annotated[str, Form(max_length=16)] = "",
    poll_interval: Annotated[str, Form(max_length=6)] = "",
) -> Response:
    check_csrf(editor, csrf_token)
    now = context.now()
    with context.sessions() as session:
        source = source_or_404(session, source_id)
        before = source_state(source)
        _apply_source_change(source, action, trust, poll_interval, now)
        after = source_state(source)
        if action == "trust":
            # Items no editor decided on follow the source's new trust.
            stories = apply_trust(session, source_id, source.trust)
            for story_id in stories:
                refresh_story(session, story_id, now)
        record_action(
            session,
            Actor(editor.email, editor.editor_id),
            f"source.{action}",
            ("source", source_id),
            now,
            before=before,
            after=after,
        )
        session.commit()
    return RedirectResponse(
        f"{request.url_for('editor_home')}#source-{quote(source_id)}", status_code=303
    )


def _apply_source_change(
    source: Source, action: str, trust: str, poll_interval: str, now: datetime
) -> None:
    if action == "pause":
        source.paused_at = source.paused_at or now
    elif action == "resume":
        source.paused_at = None
        source.next_fetch_at = now
    elif action == "trust":
        if trust not in TRUST_LEVELS:
            raise HTTPException(422, f"Trust is one of {', '.join(TRUST_LEVELS)}.")
        source.trust = trust
    else:
        source.poll_interval = _poll_interval(poll_interval)
    source.updated_at = now


def _poll_interval(value: str) -> int | None:
    if not value.strip():
        return None  # back to adaptive polling
    if not value.strip().isdigit() or not 5 <= int(value) <= 10080:
        raise HTTPException(
            422, "The poll interval is a number of minutes from 5 to 10080."
        )
    return int(value)


def source_or_404(session: Session, source_id: str) -> Source:
    source = session.get(Source, source_id)
    if source is None:
        raise HTTPException(404, f"No source with id {source_id!r}")
    return source


def source_state(source: Source) -> dict[str, object]:
    return {
        "trust": source.trust,
        "paused_at": source.paused_at,
        "poll_interval": source.poll_interval,
        "country": source.country,
        "region": source.region,
        "municipality": source.municipality,
    }


@router.get("/editors", response_class=HTMLResponse, name="editor_editors")
def editors_page(request: Request, context: Context, editor: AdminOnly) -> Response:
    return _editors_page(request, context, editor, error=None)


@router.post("/editors", name="editor_add")
def add_editor_account(
    request: Request,
    context: Context,
    editor: AdminOnly,
    csrf_token: CsrfField,
    email: Annotated[str, Form(max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")],
    role: Annotated[str, Form(pattern="^(editor|admin)$")],
    password: Annotated[str, Form(max_length=1000)],
) -> Response:
    check_csrf(editor, csrf_token)
    now = context.now()
    with context.sessions() as session:
        if editor_by_email(session, email) is not None:
            exists = Message(N_("An editor with this address exists already."))
            return _editors_page(request, context, editor, exists, 409)
        try:
            password_hash = context.passwords.hash(password)
        except AuthError as problem:
            return _editors_page(request, context, editor, problem.message, 422)
        added = add_editor(session, email, password_hash, role, now)
        record_action(
            session,
            Actor(editor.email, editor.editor_id),
            "editor.add",
            ("editor", added.id),
            now,
            after={"email": added.email, "role": role, "active": True},
        )
        session.commit()
    return RedirectResponse(str(request.url_for("editor_editors")), status_code=303)


@router.post("/editors/{editor_id}", name="editor_change")
def change_editor(
    request: Request,
    editor_id: int,
    context: Context,
    editor: AdminOnly,
    csrf_token: CsrfField,
    action: Annotated[str, Form(pattern="^(role|deactivate|activate)$")],
    role: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    check_csrf(editor, csrf_token)
    if editor_id == editor.editor_id:
        raise HTTPException(409, "Admins cannot change their own account here.")
    now = context.now()
    with context.sessions() as session:
        account = editor_by_id(session, editor_id)
        if account is None:
            raise HTTPException(404, f"No editor with id {editor_id}")
        before = {"role": account.role, "active": account.active}
        if action == "role":
            if role not in ROLES:
                raise HTTPException(422, f"The role is one of {', '.join(ROLES)}.")
            account.role = role
        else:
            account.active = action == "activate"
        if not account.active or action == "role":
            # A new role or a deactivation takes effect at once, everywhere.
            close_sessions_of(session, account.id)
        record_action(
            session,
            Actor(editor.email, editor.editor_id),
            f"editor.{action}",
            ("editor", account.id),
            now,
            before=before,
            after={"role": account.role, "active": account.active},
        )
        session.commit()
    return RedirectResponse(str(request.url_for("editor_editors")), status_code=303)


@router.get("/audit", response_class=HTMLResponse, name="editor_audit")
def audit_page(
    request: Request,
    context: Context,
    editor: AdminOnly,
    actor: Annotated[str | None, Query(max_length=320)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    subject_type: Annotated[str | None, Query(max_length=32)] = None,
    subject_id: Annotated[str | None, Query(max_length=128)] = None,
) -> Response:
    filters = AuditFilter(
        actor or None, action or None, subject_type or None, subject_id or None
    )
    with context.sessions() as session:
        entries = audit_entries(session, filters, limit=200)
        return context.templates.TemplateResponse(
            request,
            "editor_audit.html",
            {"editor": editor, "entries": entries, "filters": filters},
        )


def _editors_page(
    request: Request,
    context: Context,
    editor: SignedIn,
    error: Message | None,
    status: int = 200,
) -> Response:
    with context.sessions() as session:
        accounts = list_editors(session)
        return context.templates.TemplateResponse(
            request,
            "editor_editors.html",
            {"editor": editor, "accounts": accounts, "error": error, "roles": ROLES},
            status_code=status,
        )


def _login_page(
    request: Request,
    context: Context,
    next_path: str,
    error: Message | None,
    status: int = 200,
) -> Response:
    token = new_login_csrf()
    response = context.templates.TemplateResponse(
        request,
        "editor_login.html",
        {"csrf_token": token, "next": next_path, "error": error},
        status_code=status,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        secure=context.config.secure_cookies,
        samesite="strict",
        path="/",
    )
    return response


def _safe_next(request: Request, next_path: str) -> str:
    # Only a path on this portal: a crafted link must not send an editor who
    # just logged in to someone else's site.
    parts = urlsplit(next_path)
    if next_path.startswith("/") and not parts.netloc and not parts.scheme:
        root = request.scope.get("root_path", "")
        if next_path.startswith(f"{root}/editor"):
            return next_path
    return str(request.url_for("editor_home"))
