"""Editor accounts, their sessions and failed logins."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, joinedload

from storage.models import Editor, EditorSession, LoginFailure

ROLES = ("editor", "admin")


def editor_by_email(session: Session, email: str) -> Editor | None:
    return session.scalar(select(Editor).where(Editor.email == normal_email(email)))


def editor_by_id(session: Session, editor_id: int) -> Editor | None:
    return session.get(Editor, editor_id)


def list_editors(session: Session) -> list[Editor]:
    return list(session.scalars(select(Editor).order_by(Editor.email)))


def add_editor(
    session: Session, email: str, password_hash: str, role: str, now: datetime
) -> Editor:
    editor = Editor(
        email=normal_email(email),
        password_hash=password_hash,
        role=role,
        active=True,
        created_at=now,
        failed_logins=0,
    )
    session.add(editor)
    session.flush()
    return editor


def normal_email(email: str) -> str:
    """Addresses compare without case or surrounding spaces, as people type them."""
    return email.strip().lower()


def record_login_failure(
    session: Session, address: str, email: str, now: datetime
) -> None:
    session.add(LoginFailure(address=address, email=normal_email(email), at=now))


def login_failures_from(session: Session, address: str, since: datetime) -> int:
    query = select(func.count(LoginFailure.id)).where(
        LoginFailure.address == address, LoginFailure.at >= since
    )
    return int(session.scalar(query) or 0)


def forget_login_failures(session: Session, before: datetime) -> None:
    session.execute(delete(LoginFailure).where(LoginFailure.at < before))


def open_session(
    session: Session,
    editor: Editor,
    token_hash: str,
    csrf_token: str,
    now: datetime,
    expires_at: datetime,
    address: str | None,
) -> EditorSession:
    opened = EditorSession(
        token_hash=token_hash,
        editor_id=editor.id,
        csrf_token=csrf_token,
        created_at=now,
        expires_at=expires_at,
        address=address,
    )
    session.add(opened)
    return opened


def live_session(
    session: Session, token_hash: str, now: datetime
) -> EditorSession | None:
    """The session of ``token_hash`` while it lasts and its editor is active."""
    query = (
        select(EditorSession)
        .options(joinedload(EditorSession.editor))
        .join(Editor)
        .where(
            EditorSession.token_hash == token_hash,
            EditorSession.expires_at > now,
            Editor.active.is_(True),
        )
    )
    return session.scalar(query)


def close_session(session: Session, token_hash: str) -> None:
    session.execute(delete(EditorSession).where(EditorSession.token_hash == token_hash))


def close_sessions_of(session: Session, editor_id: int) -> None:
    session.execute(delete(EditorSession).where(EditorSession.editor_id == editor_id))
