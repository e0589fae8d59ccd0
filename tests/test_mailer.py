"""The SMTP mailer against a real server on 127.0.0.1: one connection for
many messages, 4xx tried again, 5xx reported, a bad URL refused."""

from __future__ import annotations

import ssl
from email.message import EmailMessage

import pytest
import trustme

from aggregator.errors import MailError
from aggregator.mailer import Mailer, SmtpServer
from tests.mailbox import MailServer


def _message(to: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "News <news@portal.test>"
    message["To"] = to
    message["Subject"] = "Grüße"
    message.set_content("Hallo")
    return message


def test_messages_share_one_connection_and_4xx_is_tried_again():
    waits: list[float] = []
    with MailServer() as mailbox:
        mailbox.defer_next = 2
        server = SmtpServer.from_url(mailbox.url)
        with Mailer(
            server, attempts=4, retry_seconds=0.5, sleep=waits.append
        ) as mailer:
            deliveries = [mailer.send(_message(f"r{n}@example.org")) for n in range(3)]

    assert [d.outcome for d in deliveries] == ["sent"] * 3
    assert deliveries[0].attempts == 3 and waits == [0.5, 1.0]
    assert mailbox.connections == 1
    assert [m["Subject"] for m in mailbox.messages] == ["Grüße"] * 3


def test_a_refused_recipient_is_permanent_and_the_connection_goes_on():
    with MailServer() as mailbox:
        mailbox.refused["gone@example.org"] = "550 5.1.1 No such mailbox"
        with Mailer(SmtpServer.from_url(mailbox.url), sleep=lambda _: None) as mailer:
            refused = mailer.send(_message("gone@example.org"))
            sent = mailer.send(_message("here@example.org"))

    assert (refused.outcome, refused.code, refused.attempts) == ("permanent", 550, 1)
    assert sent.sent and mailbox.recipients == ["here@example.org"]


def test_an_unreachable_server_is_temporary_after_every_try():
    with MailServer() as mailbox:
        url = mailbox.url
    with Mailer(SmtpServer.from_url(url), attempts=2, sleep=lambda _: None) as mailer:
        delivery = mailer.send(_message("r@example.org"))

    assert (delivery.outcome, delivery.attempts) == ("temporary", 2)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example:2525", ("mail.example", 2525, "plain", None)),
        ("smtp://u%40x:p@mail.example?starttls=true",
         ("mail.example", 25, "starttls", "u@x")),
        ("smtps://mail.example", ("mail.example", 465, "tls", None)),
    ],
)  # fmt: skip
def test_smtp_url_names_host_port_security_and_login(url, expected):
    server = SmtpServer.from_url(url)
    assert (server.host, server.port, server.security, server.username) == expected


@pytest.mark.parametrize("url", ["http://mail.example", "smtps://m.example?starttls=1"])
def test_an_unusable_smtp_url_is_refused_with_the_setting_named(url):
    with pytest.raises(MailError, match="AGGREGATOR_SMTP_URL"):
        SmtpServer.from_url(url)


@pytest.fixture(scope="module")
def authority(tmp_path_factory: pytest.TempPathFactory) -> tuple[trustme.CA, str]:
    """A private certificate authority and the file a mailer trusts it by."""
    ca = trustme.CA()
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return ca, str(path)


def _server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return context


def test_starttls_encrypts_before_the_message_and_checks_the_certificate(authority):
    ca, cafile = authority
    tls = {"tls_context": _server_context(ca), "require_starttls": True}
    with MailServer(**tls) as mailbox:
        trusted = SmtpServer.from_url(f"{mailbox.url}?starttls=true&cafile={cafile}")
        with Mailer(trusted, attempts=1) as mailer:
            delivery = mailer.send(_message("tls@example.org"))
        # Without the private authority the certificate is not trusted.
        untrusted = SmtpServer.from_url(f"{mailbox.url}?starttls=true")
        with pytest.raises(MailError, match="TLS"), Mailer(untrusted) as mailer:
            mailer.send(_message("nobody@example.org"))

    assert delivery.sent
    assert [m["To"] for m in mailbox.messages] == ["tls@example.org"]


def test_smtps_speaks_tls_from_the_first_byte(authority):
    ca, cafile = authority
    with MailServer(scheme="smtps", ssl_context=_server_context(ca)) as mailbox:
        server = SmtpServer.from_url(f"{mailbox.url}?cafile={cafile}")
        with Mailer(server, attempts=1) as mailer:
            delivery = mailer.send(_message("smtps@example.org"))

    assert delivery.sent
    assert [m["To"] for m in mailbox.messages] == ["smtps@example.org"]
