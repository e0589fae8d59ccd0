"""The web app's sender of single e-mails (registrations), over the shared
mailer: a connection of its own per message, with the mailer's retries."""

from __future__ import annotations

import logging
from email.message import EmailMessage

from aggregator.errors import MailError
from aggregator.mailer import Mailer, SmtpServer
from aggregator.settings import Settings
from publisher.registrations import MailNotSent, MailSender

logger = logging.getLogger(__name__)


def mail_sender(settings: Settings) -> MailSender:
    """Sends one message, raising the failure the web app expects.

    A web process holds no connection between messages: they are few. One
    try only: the person waits for the page, and is told to try again.
    """

    def send(message: EmailMessage) -> None:
        try:
            server = SmtpServer.from_url(settings.smtp_url)
            with Mailer(
                server, timeout=settings.smtp_timeout_seconds, attempts=1
            ) as mailer:
                delivery = mailer.send(message)
        except MailError as error:
            delivery = None
            reason = str(error)
        else:
            reason = delivery.error or f"the mail server answered {delivery.code}"
        if delivery is not None and delivery.sent:
            logger.info("E-mail sent", extra={"to": message["To"]})
            return
        logger.error(
            "E-mail not sent: %s", reason, extra={"to": message["To"], "error": reason}
        )
        raise MailNotSent(reason)

    return send
