"""Editors' logins: password hashes, locks against guessing, sessions, CSRF.

Passwords are hashed with Argon2id. A login is refused, whatever the
password, while the account is locked after too many wrong passwords in a
row, or while one address has failed too often lately (someone trying many
accounts). Sessions live in the database; the browser holds only a random
token in an HttpOnly, SameSite=Strict cookie, Secure when the portal is
served over HTTPS. Every form carries a CSRF token: the session's own once
logged in, a double-submitted cookie on the login form.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from publisher.i18n import N_, Message
from storage.editors import (
    close_session,
    editor_by_email,
    live_session,
    login_failures_from,
    open_session,
    record_login_failure,
)
from storage.models import Editor

logger = logging.getLogger(__name__)

SESSION_COOKIE = "editor_session"
LOGIN_CSRF_COOKIE = "login_csrf"
MIN_PASSWORD_LENGTH = 12


class AuthError(Exception):
    """Base of the login errors; the message is safe to show the person.

    ``message`` is the catalogue's text, translated where it is shown.
    """

    def __init__(self, text: str, **params: object) -> None:
        self.message = Message(text, params)
        super().__init__(str(self.message))


class LoginRefused(AuthError):
    """Wrong address or password, a locked account, or too many attempts."""


class WeakPassword(AuthError):
    """A new password that is too easy to guess."""


@dataclass(frozen=True)
class LoginPolicy:
    """How many wrong passwords lock an account, and for how long."""

    failures_to_lock: int = 10
    lock: timedelta = timedelta(minutes=15)
    # Failed logins from one address within the window before it is refused.
    address_failures: int = 30
    address_window: timedelta = timedelta(minutes=15)
    session_length: timedelta = timedelta(hours=12)


@dataclass(frozen=True)
class SignedIn:
    """The editor behind a request, read once per request."""

    editor_id: int
    email: str
    role: str
    csrf_token: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class Passwords:
    """Argon2id hashing with the library's recommended parameters."""

    def __init__(self) -> None:
        self._hasher = PasswordHasher()
        # Verified against unknown addresses, so that a wrong address costs
        # the same time as a wrong password and does not reveal itself.
        self._decoy = self._hasher.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        check_password_strength(password)
        return self._hasher.hash(password)

    def verify(self, stored_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def waste_time(self, password: str) -> None:
        self.verify(self._decoy, password)

    def needs_rehash(self, stored_hash: str) -> bool:
        return self._hasher.check_needs_rehash(stored_hash)


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(
            N_("The password needs at least %(count)s characters."),
            count=MIN_PASSWORD_LENGTH,
        )
    if len(set(password)) < 5:
        raise WeakPassword(N_("The password repeats too few different characters."))


def authenticate(
    session: Session,
    passwords: Passwords,
    policy: LoginPolicy,
    email: str,
    password: str,
    address: str,
    now: datetime,
) -> Editor:
    """The editor ``email`` names, if ``password`` is theirs and nothing bars it.

    Failures are written in the caller's transaction, which must be committed
    whether or not this raises.
    """
    since = now - policy.address_window
    if login_failures_from(session, address, since) >= policy.address_failures:
        logger.warning(
            "Login refused: too many failures from one address",
            extra={"address": address},
        )
        raise LoginRefused(
            N_("Too many failed logins from your address; wait a while.")
        )

    editor = editor_by_email(session, email)
    if editor is None or not editor.active:
        passwords.waste_time(password)
        record_login_failure(session, address, email, now)
        raise LoginRefused(N_("Wrong e-mail address or password."))

    if editor.locked_until is not None and editor.locked_until > now:
        record_login_failure(session, address, email, now)
        raise _locked(editor.locked_until)

    if not passwords.verify(editor.password_hash, password):
        record_login_failure(session, address, email, now)
        editor.failed_logins += 1
        if editor.failed_logins >= policy.failures_to_lock:
            editor.locked_until = now + policy.lock
            editor.failed_logins = 0
            logger.warning(
                "Editor account locked after wrong passwords",
                extra={"editor": editor.email, "until": editor.locked_until},
            )
            raise _locked(editor.locked_until)
        raise LoginRefused(N_("Wrong e-mail address or password."))

    editor.failed_logins = 0
    editor.locked_until = None
    editor.last_login_at = now
    if passwords.needs_rehash(editor.password_hash):
        editor.password_hash = passwords.hash(password)
    return editor


def _locked(until: datetime) -> LoginRefused:
    return LoginRefused(
        N_(
            "This account is locked after too many wrong passwords; "
            "try again after %(time)s UTC."
        ),
        time=f"{until:%H:%M}",
    )


def start_session(
    session: Session,
    editor: Editor,
    policy: LoginPolicy,
    address: str,
    now: datetime,
) -> str:
    """Opens a session and returns the token for the browser's cookie."""
    token = secrets.token_urlsafe(32)
    open_session(
        session,
        editor,
        token_hash(token),
        secrets.token_urlsafe(32),
        now,
        now + policy.session_length,
        address,
    )
    return token


def signed_in(session: Session, token: str | None, now: datetime) -> SignedIn | None:
    if not token:
        return None
    found = live_session(session, token_hash(token), now)
    if found is None:
        return None
    editor = found.editor
    return SignedIn(editor.id, editor.email, editor.role, found.csrf_token)


def end_session(session: Session, token: str) -> None:
    close_session(session, token_hash(token))


def token_hash(token: str) -> str:
    # The table holds hashes, so a leaked copy of it opens no session.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def same_token(expected: str | None, given: str | None) -> bool:
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


def new_login_csrf() -> str:
    return secrets.token_urlsafe(32)
