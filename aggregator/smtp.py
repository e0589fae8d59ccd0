"""Sending one e-mail over SMTP, as ``AGGREGATOR_SMTP_URL`` says.

Kept to one function so that the shared mailer (connection reuse, retries)
can take its place where the app is built.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from aggregator.errors import AggregatorError
from publisher.registrations import MailNotSent, MailSender

logger = logging.getLogger(__name__)


class MailError(AggregatorError):
    """An e-mail could not be handed to the mail server."""


def send_email(smtp_url: str, message: EmailMessage, timeout: float = 30.0) -> None:
    """Hand ``message`` to the server at ``smtp://`` or ``smtps://`` URL.

    Raises ``MailError`` naming the server when it cannot be reached or
    refuses the message.
    """
    parts = urlsplit(smtp_url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise MailError(
            f"AGGREGATOR_SMTP_URL is no smtp:// or smtps:// URL: {smtp_url!r}"
        )
    port = parts.port or (465 if parts.scheme == "smtps" else 25)
    server = f"{parts.hostname}:{port}"

    try:
        if parts.scheme == "smtps":
            context = ssl.create_default_context()
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                parts.hostname, port, timeout=timeout, context=context
            )
        else:
            client = smtplib.SMTP(parts.hostname, port, timeout=timeout)
        with client:
            client.ehlo()
            if parts.scheme == "smtp" and client.has_extn("starttls"):
                # Credentials and addresses travel encrypted where the
                # server offers it.
                client.starttls(context=ssl.create_default_context())
                client.ehlo()
            if parts.username:
                client.login(unquote(parts.username), unquote(parts.password or ""))
            client.send_message(message)
    except (OSError, smtplib.SMTPException) as error:
        raise MailError(f"the mail server {server} refused: {error}") from error
    logger.info("E-mail sent", extra={"to": message["To"], "server": server})


def mail_sender(smtp_url: str) -> MailSender:
    """The web app's sender: ``send_email`` with the failure the app expects."""

    def send(message: EmailMessage) -> None:
        try:
            send_email(smtp_url, message)
        except MailError as error:
            logger.error(
                "E-mail not sent", extra={"to": message["To"], "error": str(error)}
            )
            raise MailNotSent(str(error)) from error

    return send
