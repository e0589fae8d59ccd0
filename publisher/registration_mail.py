"""The e-mails a registrant receives, in the language they registered in."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from publisher.i18n import N_, Catalogues
from storage.models import Registration

TEMPLATES = Path(__file__).parent / "templates" / "mail"

SUBJECTS = {
    "confirm": N_("Confirm the registration of %(name)s"),
    "approved": N_("%(name)s is now a source of the portal"),
    "rejected": N_("The registration of %(name)s was declined"),
    "changes": N_("The registration of %(name)s needs changes"),
}


class RegistrationMail:
    """Renders the registration e-mails as ``EmailMessage`` values."""

    def __init__(
        self, catalogues: Catalogues, mail_from: str, base_url: str, site_title: str
    ) -> None:
        self._catalogues = catalogues
        # The setting may name the sender ("Portal <news@...>"): the address.
        self._mail_from = parseaddr(mail_from)[1] or mail_from
        self._base_url = base_url.rstrip("/")
        self._site_title = site_title
        self._environments: dict[str, Environment] = {}

    def link(self, locale: str, path: str) -> str:
        """An address on the portal, in the registrant's interface language."""
        return f"{self._base_url}/{locale}{path}"

    def confirmation(
        self,
        registration: Registration,
        confirm_path: str,
        status_path: str,
        now: datetime,
        hours: int,
    ) -> EmailMessage:
        locale = registration.locale
        return self._message(
            registration,
            "confirm",
            "registration_confirm.txt",
            now,
            confirm_url=self.link(locale, confirm_path),
            status_url=self.link(locale, status_path),
            hours=hours,
        )

    def decision(
        self, registration: Registration, status_path: str, now: datetime
    ) -> EmailMessage:
        return self._message(
            registration,
            registration.state,
            "registration_decision.txt",
            now,
            status_url=self.link(registration.locale, status_path),
        )

    def _message(
        self,
        registration: Registration,
        subject: str,
        template: str,
        now: datetime,
        **values: object,
    ) -> EmailMessage:
        locale = registration.locale
        translations = self._catalogues.translations(locale)
        site_title = translations.gettext(self._site_title)
        body = (
            self._environment(locale)
            .get_template(template)
            .render(registration=registration, site_title=site_title, **values)
        )

        message = EmailMessage()
        message["From"] = formataddr((site_title, self._mail_from))
        # One line, whatever was typed: a name cannot add a header.
        name = " ".join(registration.contact_name.split())
        message["To"] = formataddr((name, registration.contact_email))
        message["Subject"] = translations.gettext(SUBJECTS[subject]) % {
            "name": registration.municipality_name
        }
        message["Date"] = format_datetime(now)
        message["Message-ID"] = make_msgid(domain=self._mail_from.rpartition("@")[2])
        message.set_content(body)
        # After the content: setting it replaces every Content-* header.
        message["Content-Language"] = locale
        return message

    def _environment(self, locale: str) -> Environment:
        environment = self._environments.get(locale)
        if environment is None:
            environment = Environment(
                loader=FileSystemLoader(TEMPLATES),
                autoescape=False,
                undefined=StrictUndefined,
                extensions=["jinja2.ext.i18n"],
                keep_trailing_newline=True,
            )
            environment.install_gettext_translations(  # type: ignore[attr-defined]
                self._catalogues.translations(locale), newstyle=True
            )
            self._environments[locale] = environment
        return environment
