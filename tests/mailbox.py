"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it accepts.

Tests read the messages back as parsed e-mails, and can make the server
defer (4xx) or refuse (5xx) what it is sent.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Mailbox:
    """The aiosmtpd handler: accepted messages, in arrival order."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.recipients: list[str] = []
        self.lock = threading.Lock()
        # Messages to answer with this status before accepting again.
        self.defer_next = 0
        self.defer_status = "451 4.3.0 Try again later"
        # Recipients refused for good.
        self.refused: dict[str, str] = {}
        # Called with the number of the message about to be accepted; returning
        # False drops it unaccepted (the server's 451 goes to a dead client).
        self.before_accept: Callable[[int], bool] | None = None
        self.url = ""
        self.connections = 0

    async def handle_EHLO(  # noqa: N802 (aiosmtpd's hook names)
        self, server: Any, session: Any, envelope: Any, hostname: str,
        responses: list[str],
    ) -> list[str]:  # fmt: skip
        self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook names)
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refused:
            return self.refused[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        with self.lock:
            if self.defer_next > 0:
                self.defer_next -= 1
                return self.defer_status
            number = len(self.messages) + 1
        if self.before_accept is not None and not self.before_accept(number):
            return "451 4.3.0 Not accepted"
        message = BytesParser(policy=policy.default).parsebytes(envelope.content)
        assert isinstance(message, EmailMessage)
        with self.lock:
            self.messages.append(message)
            self.recipients.extend(envelope.rcpt_tos)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if m["To"] == address]


class MailServer:
    """Starts the mailbox on a free port; ``url`` is for AGGREGATOR_SMTP_URL."""

    def __init__(
        self,
        mailbox: Mailbox | None = None,
        scheme: str = "smtp",
        **tls: Any,
    ) -> None:
        """``tls`` goes to aiosmtpd's Controller: ``tls_context`` and
        ``require_starttls`` for STARTTLS, ``ssl_context`` for smtps://."""
        self.mailbox = mailbox or Mailbox()
        self.port = free_port()
        self.controller = Controller(
            self.mailbox, hostname="127.0.0.1", port=self.port, **tls
        )
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        self.mailbox.url = self.url

    def __enter__(self) -> Mailbox:
        self.controller.start()
        return self.mailbox

    def __exit__(self, *_exc: object) -> None:
        self.controller.stop()
