"""Subscribing by double opt-in, and what the signed links open: confirm,
manage, download and delete one's data, unsubscribe in one click. The
e-mails go to a real SMTP server on 127.0.0.1 and are read back."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from aggregator.runtime import Runtime
from aggregator.settings import Settings
from publisher.subscription_links import LinkToken, SubscriptionLinks
from storage.models import DigestSend, Subscription
from storage.regions import upsert_regions
from storage.subscriptions import AddressError, normalise_address
from tests.mailbox import Mailbox, MailServer

TREE = [
    ("EU", None, "eu", None, "European Union", "EU/"),
    ("AT", "EU", "country", "AT", "Österreich", "EU/AT/"),
    ("AT1", "AT", "nuts1", "AT", "Ostösterreich", "EU/AT/AT1/"),
    ("AT13", "AT1", "nuts2", "AT", "Wien", "EU/AT/AT1/AT13/"),
]
# Pages over the same queries as the tests on both databases: SQLite is enough.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
FORM = {
    "email": "Reader@Example.org",
    "regions": ["AT13"],
    "topics": ["mobility-transport"],
    "frequency": "weekly",
    "locale": "de",
    "consent": "yes",
}


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with MailServer() as box:
        yield box


@pytest.fixture
def client(settings: Settings, classifiers, mailbox: Mailbox) -> Iterator[TestClient]:
    settings = settings.model_copy(
        update={"secret_key": "test-secret", "smtp_url": mailbox.url}
    )
    runtime = Runtime.build(settings, classifiers=classifiers)
    runtime.upgrade()
    rows = [
        {"code": code, "parent": parent, "level": level, "country": country,
         "name": name, "names": [], "population": None, "path": path,
         "replaces": None, "origin": "gazetteer"}
        for code, parent, level, country, name, path in TREE
    ]  # fmt: skip
    with runtime.sessions() as session:
        upsert_regions(session, rows)
        session.commit()
    with TestClient(runtime.web_app()) as client:
        client.runtime = runtime  # type: ignore[attr-defined]
        yield client
    runtime.close()


def _link(message, path: str) -> str:
    text = message.get_body(("plain",)).get_content()
    found = re.search(rf"http://portal\.test\S*/{path}/\S+", text)
    assert found, text
    return found.group(0).replace("http://portal.test", "")


def _subscriptions(client) -> list[Subscription]:
    with client.runtime.sessions() as session:
        return list(session.query(Subscription).order_by(Subscription.id))


def _confirmed(client, mailbox) -> str:
    """Subscribe with FORM, follow the confirmation; the manage page's path."""
    client.post("/subscribe", data=FORM)
    confirm = _link(mailbox.messages[-1], "subscriptions/confirm")
    answer = client.post(confirm, follow_redirects=False)
    assert answer.status_code == 303
    return answer.headers["location"].replace("http://testserver", "")


@SQLITE_ONLY
def test_region_page_links_to_the_form_with_the_region_chosen(client):
    region = BeautifulSoup(client.get("/regions/AT13").text, "lxml")
    link = region.select_one("a.subscribe")["href"]

    form = BeautifulSoup(client.get(link).text, "lxml")

    assert form.select_one("input[name=regions][value=AT13]").has_attr("checked")
    assert form.select_one("input[name=consent]").has_attr("required")


def test_double_opt_in_sends_only_a_confirmation_until_it_is_followed(client, mailbox):
    answer = client.post("/subscribe", data=FORM)

    assert answer.status_code == 200
    (message,) = mailbox.messages
    assert message["To"] == "reader@example.org"
    assert message["Subject"] == "Bitte bestätigen Sie Ihr Abonnement"
    assert {part.get_content_type() for part in message.iter_parts()} == {
        "text/plain",
        "text/html",
    }
    (pending,) = _subscriptions(client)
    assert (pending.state, pending.consent_at) == ("pending", None)

    confirm = _link(message, "subscriptions/confirm")
    assert confirm.startswith("/de/subscriptions/confirm/")
    page = client.get(confirm)
    assert _subscriptions(client)[0].state == "pending"  # a GET confirms nothing
    assert BeautifulSoup(page.text, "lxml").select_one("main form button")
    manage = client.post(confirm, follow_redirects=False)

    assert manage.status_code == 303
    (active,) = _subscriptions(client)
    assert active.state == "active" and active.consent_at is not None
    assert "keeps my address" not in active.consent_text  # stored in German
    assert (active.regions, active.topics, active.frequency) == (
        ["AT13"],
        ["mobility-transport"],
        "weekly",
    )
    assert len(mailbox.messages) == 1


def test_the_answer_is_the_same_whether_the_address_is_known_or_not(client, mailbox):
    _confirmed(client, mailbox)
    known = client.post("/subscribe", data=FORM)
    unknown = client.post("/subscribe", data={**FORM, "email": "new@example.org"})

    def main(answer) -> str:
        return str(BeautifulSoup(answer.text, "lxml").select_one("main"))

    assert known.status_code == unknown.status_code == 200
    assert main(known) == main(unknown)
    # Confirming the second request merges it into the first subscription.
    client.post(_link(mailbox.messages[1], "subscriptions/confirm"))
    assert [s.email for s in _subscriptions(client)] == [
        "reader@example.org",
        "new@example.org",
    ]


@SQLITE_ONLY
def test_a_bad_form_names_its_problems_and_stores_nothing(client, mailbox):
    answer = client.post(
        "/subscribe",
        data={"email": "not an address", "place": "Atlantis", "frequency": "daily"},
    )

    assert answer.status_code == 400
    errors = [p.get_text() for p in BeautifulSoup(answer.text, "lxml").select(".error")]
    assert len(errors) == 4 and "Atlantis" in errors[0]
    assert _subscriptions(client) == [] and mailbox.messages == []


@SQLITE_ONLY
def test_manage_page_changes_pauses_and_resumes_without_showing_the_address(
    client, mailbox
):
    manage = _confirmed(client, mailbox)
    page = client.get(manage)
    assert "reader@example.org" not in page.text and "r…@example.org" in page.text

    client.post(manage, data={"action": "save", "regions": ["AT13"], "place": "wien",
                              "frequency": "daily", "locale": "fr"})  # fmt: skip
    client.post(manage, data={"action": "pause"})
    (paused,) = _subscriptions(client)
    client.post(manage, data={"action": "resume"})
    (resumed,) = _subscriptions(client)

    assert (paused.frequency, paused.locale, paused.state) == ("daily", "fr", "paused")
    assert paused.topics == []
    assert resumed.state == "active"


def test_one_click_unsubscribe_by_post_needs_no_cookie(client, mailbox):
    manage = _confirmed(client, mailbox)
    (subscription,) = _subscriptions(client)
    links = SubscriptionLinks("http://portal.test", "test-secret")
    unsubscribe = links.url(
        "unsubscribe", subscription.id, subscription.nonce, "en", datetime.now(UTC)
    ).replace("http://portal.test", "")
    client.cookies.clear()

    answer = client.post(
        unsubscribe,
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert answer.status_code == 200
    assert _subscriptions(client)[0].state == "unsubscribed"
    assert client.get(manage).status_code == 200  # the reader can come back


def test_download_and_delete_my_data(client, mailbox):
    manage = _confirmed(client, mailbox)
    (subscription,) = _subscriptions(client)
    with client.runtime.sessions() as session:
        now = datetime.now(UTC)
        session.add(
            DigestSend(
                subscription_id=subscription.id, period="2026-W49", state="sent",
                claim_token="t", claimed_at=now, lease_until=now, finished_at=now,
                stories=3,
            )
        )  # fmt: skip
        session.commit()

    download = client.get(f"{manage}/data.json")
    data = json.loads(download.text)
    assert "attachment" in download.headers["content-disposition"]
    assert data["email"] == "reader@example.org"
    (exported,) = data["subscriptions"]
    assert exported["consent_at"] and exported["digests"][0]["stories"] == 3

    gone = client.post(manage, data={"action": "delete"})
    assert gone.status_code == 200
    assert _subscriptions(client) == []
    with client.runtime.sessions() as session:
        assert session.query(DigestSend).count() == 0
    assert client.get(manage).status_code == 404


@SQLITE_ONLY
def test_forged_expired_and_misused_links_open_nothing(client, mailbox):
    manage = _confirmed(client, mailbox)
    token = manage.rsplit("/", 1)[1]
    parsed = LinkToken.parse(token)
    assert parsed is not None
    links = SubscriptionLinks("http://portal.test", "test-secret")
    (subscription,) = _subscriptions(client)
    expired = links.token(
        "manage", parsed.subscription_id, subscription.nonce,
        datetime.now(UTC) - timedelta(days=400),
    )  # fmt: skip

    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert client.get(f"/de/subscriptions/manage/{forged}").status_code == 404
    assert client.get(f"/de/subscriptions/manage/{expired}").status_code == 410
    # A manage link is no unsubscribe link.
    assert client.post(f"/subscriptions/unsubscribe/{token}").status_code == 404
    assert _subscriptions(client)[0].state == "active"


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        (" Jane.Doe@Example.ORG ", "jane.doe@example.org"),
        ("anna@münchen.de", "anna@xn--mnchen-3ya.de"),
    ],
)
def test_addresses_are_stored_normalised(typed, stored):
    assert normalise_address(typed) == stored


@pytest.mark.parametrize(
    "typed",
    ["plain", "a@b", "two@@example.org", "x@example.org\r\nBcc: y@example.org",
     "a b@example.org", "Name <a@example.org>"],
)  # fmt: skip
def test_what_could_not_be_a_mailbox_is_refused(typed):
    with pytest.raises(AddressError):
        normalise_address(typed)
