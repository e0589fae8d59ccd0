"""What the web app's subscription pages are handed to send confirmations."""

from __future__ import annotations

from aggregator.mailer import Delivery, mailer_from_settings
from aggregator.settings import Settings
from publisher.i18n import Catalogues
from publisher.mails import MailTemplates, OutgoingMail
from publisher.subscribe_views import SubscriptionMail
from publisher.subscription_links import SubscriptionLinks


def subscription_links(settings: Settings) -> SubscriptionLinks:
    return SubscriptionLinks(
        settings.base_url,
        settings.secret_key,
        settings.subscription_link_days,
        settings.confirmation_link_hours,
    )


def subscription_mail(settings: Settings) -> SubscriptionMail:
    """Confirmations go out over a connection of their own, one per message:
    they are few, and a web process holds no connection between them."""

    def send(mail: OutgoingMail) -> Delivery:
        with mailer_from_settings(settings) as mailer:
            return mailer.send_bytes(mail.sender, mail.recipients, mail.data)

    return SubscriptionMail(
        subscription_links(settings),
        MailTemplates(Catalogues.load(), settings.digest_timezone),
        settings.sender,
        send,
    )
