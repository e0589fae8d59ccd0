"""Sending e-mail over SMTP: one connection kept for many messages, temporary
refusals retried with backoff, permanent ones reported.

``AGGREGATOR_SMTP_URL`` names the server:

- ``smtp://host:25``: plain SMTP; ``?starttls=true`` upgrades it with
  STARTTLS and refuses to go on without it;
- ``smtps://host:465``: TLS from the first byte;
- ``user:password@`` in either logs in; ``?cafile=/path`` trusts a private
  certificate authority besides the system's.

A ``Mailer`` is one connection and is not shared between threads: a sender
that wants several connections makes several mailers.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import socket
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.message import Message
from email.utils import getaddresses, parseaddr
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

from aggregator.errors import MailError
from aggregator.settings import Settings

logger = logging.getLogger(__name__)

Security = Literal["plain", "starttls", "tls"]
Outcome = Literal["sent", "temporary", "permanent"]
_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class SmtpServer:
    """Where and how to reach the mail server, read from its URL."""

    host: str
    port: int
    security: Security = "plain"
    username: str | None = None
    password: str | None = None
    cafile: str | None = None

    @classmethod
    def from_url(cls, url: str) -> SmtpServer:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise MailError(
                "AGGREGATOR_SMTP_URL must be smtp://host[:port] or "
                f"smtps://host[:port], not {parts.scheme or 'no scheme'}://..."
            )
        query = parse_qs(parts.query)
        security: Security = "tls" if parts.scheme == "smtps" else "plain"
        if query.get("starttls", ["false"])[0].lower() in _TRUE:
            if security == "tls":
                raise MailError(
                    "AGGREGATOR_SMTP_URL: smtps:// is TLS already; drop ?starttls"
                )
            security = "starttls"
        try:
            port = parts.port or (465 if security == "tls" else 25)
        except ValueError as error:
            raise MailError(f"AGGREGATOR_SMTP_URL: bad port: {error}") from error
        return cls(
            host=parts.hostname,
            port=port,
            security=security,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            cafile=query.get("cafile", [None])[0],
        )

    def tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if self.cafile:
            context.load_verify_locations(self.cafile)
        return context


@dataclass(frozen=True)
class Delivery:
    """What became of one message: sent, refused for now (4xx, connection
    lost, after every try) or refused for good (5xx)."""

    outcome: Outcome
    attempts: int
    code: int | None = None
    error: str | None = None

    @property
    def sent(self) -> bool:
        return self.outcome == "sent"


class Mailer:
    """Sends messages over one SMTP connection, opened on first use and kept.

    A 4xx answer or a lost connection is tried again after a wait that
    doubles each time (``retry_seconds``, then twice that, ...), up to
    ``attempts`` tries; a 5xx answer to the recipient or the message is
    final. A refused login or sender is the configuration's fault, not the
    message's, and raises ``MailError``.
    """

    def __init__(
        self,
        server: SmtpServer,
        *,
        timeout: float = 30.0,
        attempts: int = 4,
        retry_seconds: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
        local_hostname: str | None = None,
    ) -> None:
        self.server = server
        # smtplib would look the name up in DNS for every connection.
        self.local_hostname = local_hostname or socket.gethostname()
        self.timeout = timeout
        self.attempts = attempts
        self.retry_seconds = retry_seconds
        self._sleep = sleep
        self._connection: smtplib.SMTP | None = None

    def __enter__(self) -> Mailer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def send(self, message: Message) -> Delivery:
        """Deliver an email-package message to the recipients in its To,
        Cc and Bcc headers."""
        sender = parseaddr(str(message["From"]))[1]
        recipients = [
            address
            for name in ("To", "Cc", "Bcc")
            for _, address in getaddresses(message.get_all(name, []))
        ]
        del message["Bcc"]
        # SMTP ends lines with CRLF, and smtplib converts only text, not bytes.
        data = message.as_bytes(policy=message.policy.clone(linesep="\r\n"))
        return self.send_bytes(sender, recipients, data)

    def send_bytes(
        self, sender: str, recipients: Sequence[str], data: bytes
    ) -> Delivery:
        """Deliver a message already in its bytes to ``recipients``."""
        code: int | None = None
        error = ""
        for attempt in range(1, self.attempts + 1):
            if attempt > 1:
                self._sleep(self.retry_seconds * 2 ** (attempt - 2))
            try:
                self._open().sendmail(sender, list(recipients), data)
                return Delivery("sent", attempt, 250)
            except smtplib.SMTPRecipientsRefused as refused:
                code, reason = next(iter(refused.recipients.values()))
                error = _text(reason)
            except smtplib.SMTPSenderRefused as refused:
                self.close()
                raise MailError(
                    f"the mail server refused the sender: {refused.smtp_code} "
                    f"{_text(refused.smtp_error)}; check AGGREGATOR_MAIL_FROM"
                ) from refused
            except smtplib.SMTPResponseException as answer:
                code, error = answer.smtp_code, _text(answer.smtp_error)
            except (smtplib.SMTPServerDisconnected, OSError) as lost:
                self._drop()
                code, error = None, f"connection lost: {lost}"
                logger.warning(
                    "Mail server connection lost; trying again",
                    extra={
                        "host": self.server.host,
                        "attempt": attempt,
                        "error": str(lost),
                    },
                )
                continue

            if code is not None and 500 <= code < 600:
                return Delivery("permanent", attempt, code, error)
            if code == 421:
                # The server closes the connection with a 421 (RFC 5321 3.8).
                self._drop()
            logger.warning(
                "Mail server deferred a message; trying again",
                extra={"host": self.server.host, "status": code, "attempt": attempt},
            )
        return Delivery("temporary", self.attempts, code, error)

    def close(self) -> None:
        if self._connection is None:
            return
        with contextlib.suppress(smtplib.SMTPException, OSError):
            self._connection.quit()
        self._drop()

    def _connect(self) -> smtplib.SMTP:
        server = self.server
        if server.security == "tls":
            return smtplib.SMTP_SSL(
                server.host, server.port, self.local_hostname, timeout=self.timeout,
                context=server.tls_context(),
            )  # fmt: skip
        return smtplib.SMTP(
            server.host, server.port, self.local_hostname, timeout=self.timeout
        )

    def _drop(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(OSError):
                self._connection.close()
        self._connection = None

    def _open(self) -> smtplib.SMTP:
        if self._connection is not None:
            return self._connection
        server = self.server
        try:
            connection = self._connect()
        except ssl.SSLError as error:
            raise MailError(
                f"TLS with the mail server {server.host} failed: {error}"
            ) from error
        try:
            connection.ehlo()
            if server.security == "starttls":
                if not connection.has_extn("starttls"):
                    raise MailError(
                        f"the mail server {server.host} offers no STARTTLS, which "
                        "AGGREGATOR_SMTP_URL asks for"
                    )
                connection.starttls(context=server.tls_context())
                connection.ehlo()
            if server.username:
                connection.login(server.username, server.password or "")
        except smtplib.SMTPAuthenticationError as refused:
            connection.close()
            raise MailError(
                f"the mail server {server.host} refused the login: "
                f"{refused.smtp_code} {_text(refused.smtp_error)}"
            ) from refused
        except ssl.SSLError as error:
            connection.close()
            raise MailError(
                f"TLS with the mail server {server.host} failed: {error}"
            ) from error
        except MailError:
            connection.close()
            raise
        self._connection = connection
        return connection


def _text(reason: bytes | str) -> str:
    return reason.decode("utf-8", "replace") if isinstance(reason, bytes) else reason


def local_domain(sender: str) -> str:
    """The domain Message-IDs are made in: the sender's, never a DNS look-up."""
    address = sender.rpartition("<")[2].rstrip(">")
    return address.rpartition("@")[2] or socket.gethostname()


def mailer_from_settings(settings: Settings) -> Mailer:
    """A mailer for ``AGGREGATOR_SMTP_URL`` with the configured tries and waits."""
    return Mailer(
        SmtpServer.from_url(settings.smtp_url),
        timeout=settings.smtp_timeout_seconds,
        attempts=settings.smtp_attempts,
        retry_seconds=settings.smtp_retry_seconds,
    )
