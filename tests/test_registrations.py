"""Municipalities registering their own source, from the form to stored items.

A real feed server and a real SMTP server (aiosmtpd) on 127.0.0.1, both
databases; the e-mails are read back from the SMTP server.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from aggregator.regions_import import node_row
from aggregator.runtime import Runtime
from publisher.auth import Passwords
from publisher.registrations import (
    confirm_token,
    is_verified_contact,
    network_of,
    registrable_domain,
)
from storage.editors import add_editor
from storage.models import (
    AuditEntry,
    Item,
    ItemRegionRow,
    Registration,
    RegistrationAttempt,
    Source,
)
from storage.regions import upsert_regions
from tests.conftest import SetClock, Site

START = datetime(2026, 11, 5, 12, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"
SECRET = "a test secret that signs the links"
GRAZ = "geo:2778067"
ADDRESS = "203.0.113.7"
# Tests of pages and rules whose storage the other tests cover on both
# databases run on SQLite only.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


class Inbox:
    """An SMTP server's handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 Message accepted for delivery"


@pytest.fixture(scope="module")
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


@pytest.fixture
def inbox(smtp_server) -> Inbox:
    smtp_server[0].messages.clear()
    return smtp_server[0]


@pytest.fixture
def clock() -> SetClock:
    return SetClock(START)


@pytest.fixture(scope="module")
def password_hash() -> str:
    return Passwords().hash(PASSWORD)


@pytest.fixture
def portal(
    settings, classifiers, smtp_server, clock, password_hash
) -> Iterator[Runtime]:
    settings = settings.model_copy(
        update={
            "secret_key": SECRET,
            "smtp_url": f"smtp://127.0.0.1:{smtp_server[1]}",
            "mail_from": "portal@portal.test",
            "max_body_bytes": 64_000,
        }
    )
    runtime = Runtime.build(settings, clock, classifiers=classifiers)
    runtime.upgrade()
    gazetteer = classifiers.regions.gazetteer
    rows = [
        node_row(gazetteer.nodes[code], gazetteer.nodes, "gazetteer")
        for code in (GRAZ, *gazetteer.ancestors(GRAZ))
    ]
    with runtime.sessions() as session:
        upsert_regions(session, rows)
        add_editor(
            session, "ed@portal.test", Passwords().hash(PASSWORD), "editor", START
        )
        session.commit()
    yield runtime
    runtime.close()


def _client(portal: Runtime, address: str = ADDRESS) -> TestClient:
    return TestClient(portal.web_app(), client=(address, 50000))


@pytest.fixture
def client(portal) -> Iterator[TestClient]:
    with _client(portal) as client:
        yield client


def _serve_town(site: Site) -> None:
    """A town's homepage that advertises its press feed."""
    site.serve_file("/presse.rss", "feeds/rss20.xml", "application/rss+xml")
    site.serve(
        "/",
        '<html><head><title>Stadt</title><link rel="alternate" '
        'type="application/rss+xml" href="/presse.rss"></head>'
        "<body><p>Willkommen</p></body></html>",
        "text/html",
    )


def _registration(site: Site, **changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "website": site.url("/"),
        "contact_name": "Maria Muster",
        "contact_email": "presse@graz.example",
        "region_code": GRAZ,
        "languages": ["de"],
    }
    body.update(changes)
    return body


def _count(portal: Runtime, model: type) -> int:
    with portal.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _link(message: EmailMessage, path: str) -> str:
    body = message.get_content()
    [url] = re.findall(rf"https?://\S+{path}\S+", body)
    return urlsplit(url).path


def _login(client: TestClient) -> None:
    page = BeautifulSoup(client.get("/editor/login").text, "lxml")
    token = page.select_one("input[name=csrf_token]")["value"]
    response = client.post(
        "/editor/login",
        data={"email": "ed@portal.test", "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303


def test_town_registers_is_approved_and_its_reviewed_items_reach_its_region(
    portal, client, site, inbox
):
    _serve_town(site)

    # The municipality is found by one of its names in another script.
    search = BeautifulSoup(client.get("/de/register?q=Грац").text, "lxml")
    choice = search.select_one("input[name=region_code]")
    assert choice["value"] == GRAZ

    form = {
        "region_code": choice["value"],
        "website": site.url("/"),
        "languages": "de",
        "contact_name": "Maria Muster",
        "contact_email": "presse@graz.example",
        "homepage": "",
    }
    done = client.post("/de/register", data=form)
    assert done.status_code == 201, done.text
    page = BeautifulSoup(done.text, "lxml")
    assert page.select_one("a.source-url")["href"] == site.url("/presse.rss")
    assert [li.a.text for li in page.select("ol.preview li")] == [
        "Neue Radwege am Rheinufer freigegeben",
        "Stadtbibliothek verlängert Öffnungszeiten",
    ]

    # The confirmation e-mail, in the language the form was filled in.
    [confirmation] = inbox.messages
    assert confirmation["To"] == "Maria Muster <presse@graz.example>"
    assert confirmation["Subject"] == "Bestätigen Sie die Anmeldung von Graz"
    assert confirmation["Content-Language"] == "de"
    confirmed = client.get(_link(confirmation, "/register/confirm/"))
    assert confirmed.status_code == 200
    with portal.sessions() as session:
        registration = session.scalars(select(Registration)).one()
        assert (registration.state, registration.verified) == ("confirmed", False)

    # The address is no e-mail domain of the website: editors are told.
    _login(client)
    queue = BeautifulSoup(client.get("/editor/registrations").text, "lxml")
    card = queue.select_one(f"#registration-{registration.id}")
    assert card.select_one(".manual-check") is not None
    token = queue.select_one("input[name=csrf_token]")["value"]
    approved = client.post(
        f"/editor/registrations/{registration.id}",
        data={"csrf_token": token, "action": "approve"},
    )
    assert approved.status_code == 200

    [_, decision] = inbox.messages
    assert decision["Subject"] == "Graz ist jetzt eine Quelle des Portals"
    with portal.sessions() as session:
        registration = session.scalars(select(Registration)).one()
        source = session.get(Source, registration.source_id)
        assert (source.trust, source.kind, source.url) == (
            "new",
            "feed",
            site.url("/presse.rss"),
        )
        assert (source.country, source.region, source.municipality) == (
            "AT",
            "AT221",
            "AT/Graz",
        )

    # A sync of the registry leaves the registered source alone.
    portal.settings.sources_file.write_text("sources: []\n", encoding="utf-8")
    portal.sync_sources()

    asyncio.run(portal.crawl())
    with portal.sessions() as session:
        items = session.scalars(select(Item).where(Item.source_id == source.id)).all()
        assert len(items) == 2
        regions = session.scalars(
            select(ItemRegionRow.code).where(
                ItemRegionRow.item_id.in_([i.id for i in items]),
                ItemRegionRow.reason == "source",
                ItemRegionRow.via.is_(None),
            )
        ).all()
        assert set(regions) == {GRAZ}
        assert session.get(Source, source.id).state == "active"
    # A new source's items wait in the review queue, off the region's page,
    # until an editor approves them.
    region_page = f"/regions/{GRAZ}"
    assert "Radwege" not in client.get(region_page).text
    review = BeautifulSoup(client.get("/editor/review").text, "lxml")
    waiting = {li.select_one("strong").text for li in review.select("ol.queue > li")}
    assert {item.title for item in items} == waiting
    approved_items = client.post(
        "/editor/review",
        data={
            "csrf_token": review.select_one("input[name=csrf_token]")["value"],
            "decision": "approve",
            "item_id": [str(item.id) for item in items],
        },
        follow_redirects=False,
    )
    assert approved_items.status_code == 303, approved_items.text
    shown = BeautifulSoup(client.get(region_page).text, "lxml")
    assert {a.text for a in shown.select("article.item h2 a")} == waiting

    status = BeautifulSoup(
        client.get(_link(decision, "/register/status/")).text, "lxml"
    )
    assert "Radwege" in status.select_one("ol.items").text
    assert status.select_one("dd.health").text.startswith("ok")


def _stream_forever() -> Iterator[bytes]:
    yield b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title>'
    while True:
        yield b"<!-- " + b"x" * 16_000 + b" -->"


def _serve_refusal(site: Site, case: str) -> str:
    if case == "private_address":
        return "http://10.0.0.1/presse.rss"
    if case == "non_feed_page":
        return site.serve(
            "/about", "<html><body><p>Hallo</p></body></html>", "text/html"
        )
    if case == "huge_response":
        return site.serve_stream("/huge.rss", _stream_forever, "application/rss+xml")
    if case == "redirect_loop":
        site.serve("/b", "", status=302, headers={"Location": "/a"})
        return site.serve("/a", "", status=302, headers={"Location": "/b"})
    site.serve("/robots.txt", "User-agent: *\nDisallow: /\n", "text/plain")
    return site.url("/presse.rss")


@pytest.mark.parametrize(
    ("case", "kind", "message"),
    [
        ("private_address", "refused_address", "private or local network address"),
        ("non_feed_page", "not_a_feed", "is not a feed, advertises no feed"),
        ("huge_response", "too_large", "is too large to be a feed"),
        ("redirect_loop", "redirects", "redirects in a loop"),
        ("robots_forbid", "robots", "robots.txt of the site forbids"),
    ],
)
def test_address_that_cannot_be_a_source_is_refused_and_nothing_stored(
    portal, client, site, inbox, caplog, case, kind, message
):
    url = _serve_refusal(site, case)

    with caplog.at_level(logging.WARNING, logger="publisher.registrations"):
        response = client.post(
            "/api/v1/registrations", json=_registration(site, source_url=url)
        )

    assert response.status_code == 422
    assert response.json()["error"] == kind
    assert message in response.json()["message"]
    assert _count(portal, Registration) == _count(portal, Source) == 0
    assert inbox.messages == []
    with portal.sessions() as session:
        [attempt] = session.scalars(select(RegistrationAttempt)).all()
        assert (attempt.outcome, attempt.address) == (kind, ADDRESS)
    assert any(r.reason == kind for r in caplog.records if hasattr(r, "reason"))


def test_tenth_registration_from_one_address_in_an_hour_is_refused(
    portal, site, inbox, clock
):
    portal.settings = portal.settings.model_copy(
        update={"registrations_per_domain": 100}
    )
    for n in range(10):
        site.serve_file(f"/feed{n}.rss", "feeds/rss20.xml", "application/rss+xml")

    with _client(portal) as client:
        answers = [
            client.post(
                "/api/v1/registrations",
                json=_registration(site, source_url=site.url(f"/feed{n}.rss")),
            )
            for n in range(10)
        ]
        stored = _count(portal, Registration)
        clock.moment = START + timedelta(minutes=61)
        later = client.post(
            "/api/v1/registrations",
            json=_registration(site, source_url=site.url("/feed9.rss")),
        )

    assert [a.status_code for a in answers] == [201] * 9 + [429]
    assert answers[-1].json()["error"] == "rate_limit"
    assert stored == 9
    assert len(inbox.messages) == 10
    assert later.status_code == 201


@SQLITE_ONLY
def test_a_neighbour_in_the_same_network_shares_the_limit(portal, site):
    portal.settings = portal.settings.model_copy(
        update={"registrations_per_network_hour": 1}
    )
    site.serve_file("/one.rss", "feeds/rss20.xml", "application/rss+xml")
    site.serve_file("/two.rss", "feeds/rss20.xml", "application/rss+xml")

    with _client(portal, "198.51.100.10") as first:
        one = first.post(
            "/api/v1/registrations",
            json=_registration(site, source_url=site.url("/one.rss")),
        )
    with _client(portal, "198.51.100.99") as neighbour:
        two = neighbour.post(
            "/api/v1/registrations",
            json=_registration(site, source_url=site.url("/two.rss")),
        )

    assert (one.status_code, two.status_code) == (201, 429)


def test_honeypot_duplicates_and_a_busy_domain_are_refused(portal, client, site):
    _serve_town(site)
    site.serve_file("/other.rss", "feeds/rss20.xml", "application/rss+xml")

    robot = client.post(
        "/api/v1/registrations", json=_registration(site, homepage="http://spam")
    )
    first = client.post("/api/v1/registrations", json=_registration(site))
    again = client.post(
        "/api/v1/registrations",
        json=_registration(site, source_url=site.url("/presse.rss")),
    )

    assert robot.status_code == 400 and robot.json()["error"] == "honeypot"
    assert first.status_code == 201
    assert again.status_code == 409
    assert "is registered already" in again.json()["message"]

    portal.settings = portal.settings.model_copy(update={"registrations_per_domain": 1})
    with _client(portal) as other:
        busy = other.post(
            "/api/v1/registrations",
            json=_registration(site, source_url=site.url("/other.rss")),
        )
    assert busy.status_code == 429 and busy.json()["error"] == "domain_limit"
    assert _count(portal, Registration) == 1


def test_confirmation_marks_a_contact_on_the_websites_domain_verified(
    portal, client, clock
):
    with portal.sessions() as session:
        registration = Registration(
            state="unconfirmed", region_code=GRAZ, municipality_name="Graz",
            country="AT", website="https://www.graz.at/",
            given_url="https://www.graz.at/",
            source_url="https://www.graz.at/rss", source_kind="feed", source_title="",
            contact_name="M", contact_email="presse@stadt.graz.at", languages=["de"],
            locale="en", domain="graz.at", address=ADDRESS, created_at=START,
        )  # fmt: skip
        session.add(registration)
        session.commit()
        registration_id = registration.id
    link = f"/register/confirm/{confirm_token(SECRET, registration_id, START)}"

    clock.moment = START + timedelta(hours=73)
    expired = client.get(link)
    clock.moment = START
    forged = client.get(link[:-3] + "xyz")
    confirmed = client.get(link)

    assert expired.status_code == 410
    assert forged.status_code == 404
    assert confirmed.status_code == 200
    with portal.sessions() as session:
        stored = session.get(Registration, registration_id)
        assert (stored.state, stored.verified) == ("confirmed", True)


@pytest.mark.parametrize(
    ("email", "website", "verified"),
    [
        ("presse@wien.gv.at", "https://www.wien.gv.at/", True),
        ("info@stadt.graz.at", "https://graz.at", True),
        ("x@gmail.com", "https://www.wien.gv.at/", False),
        ("x@other.gv.at", "https://www.wien.gv.at/", False),
        ("x@gv.at", "https://gv.at/", False),
        ("x@city.co.uk", "https://www.city.co.uk", True),
        ("x@127.0.0.1", "http://127.0.0.1:8000/", False),
    ],
)
def test_domain_proof_is_public_suffix_aware(email, website, verified):
    assert is_verified_contact(email, website) is verified


def test_networks_are_the_24_or_48_around_an_address():
    assert network_of("198.51.100.77") == "198.51.100.0/24"
    assert network_of("2001:db8:1:2::5") == "2001:db8:1::/48"
    assert registrable_domain("www.wien.gv.at") == "wien.gv.at"


@SQLITE_ONLY
def test_registration_endpoint_is_described_in_openapi(client):
    document = client.get("/api/v1/openapi.json").json()

    assert "post" in document["paths"]["/api/v1/registrations"]
    assert "/api/v1/registrations/municipalities" in document["paths"]


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("action", "subject", "state"),
    [
        ("reject", "The registration of Graz was declined", "declined"),
        ("changes", "The registration of Graz needs changes", "changes asked for"),
    ],
)
def test_editor_declines_or_asks_for_changes_with_a_reason_the_registrant_reads(
    portal, client, site, inbox, action, subject, state
):
    _serve_town(site)
    client.post("/api/v1/registrations", json=_registration(site))
    client.get(_link(inbox.messages[0], "/register/confirm/"))
    anonymous = client.get("/editor/registrations", follow_redirects=False)
    _login(client)
    queue = BeautifulSoup(client.get("/editor/registrations").text, "lxml")
    token = queue.select_one("input[name=csrf_token]")["value"]
    path = queue.select_one("article.registration form")["action"]

    silent = client.post(path, data={"csrf_token": token, "action": action})
    forged = client.post(
        path, data={"csrf_token": "forged", "action": action, "note": "x"}
    )
    decided = client.post(
        path,
        data={"csrf_token": token, "action": action, "note": "Use the press feed."},
    )

    assert anonymous.status_code == 303
    assert (silent.status_code, forged.status_code, decided.status_code) == (
        422,
        403,
        200,
    )
    decision = inbox.messages[-1]
    assert decision["Subject"] == subject
    assert "Use the press feed." in decision.get_content()
    assert _count(portal, Source) == 0
    with portal.sessions() as session:
        [entry] = session.scalars(
            select(AuditEntry).where(AuditEntry.action == f"registration.{action}")
        ).all()
        assert (entry.actor, entry.note) == ("ed@portal.test", "Use the press feed.")
    status = BeautifulSoup(
        client.get(_link(decision, "/register/status/")).text, "lxml"
    )
    assert status.select_one("dd.state").text.startswith(state)
    assert status.select_one("dd.note").text == "Use the press feed."


@SQLITE_ONLY
def test_the_form_shows_why_an_address_was_refused(client, site, portal):
    page = client.post(
        "/register",
        data={"region_code": GRAZ, "website": site.url("/"),
              "source_url": "http://10.0.0.1/feed", "languages": "en",
              "contact_name": "N", "contact_email": "n@nowhere.example"},
    )  # fmt: skip

    assert page.status_code == 422
    document = BeautifulSoup(page.text, "lxml")
    alert = document.select_one("[role=alert]").text
    assert alert == (
        "http://10.0.0.1/feed leads to a private or local network address, "
        "which the portal does not fetch."
    )
    assert document.select_one("input[name=region_code][checked]")["value"] == GRAZ
    assert document.select_one("input[name=contact_name]")["value"] == "N"
    assert _count(portal, Registration) == 0


@SQLITE_ONLY
def test_a_private_website_is_refused_like_a_private_feed(client, site, portal):
    site.serve_file("/presse.rss", "feeds/rss20.xml", "application/rss+xml")

    response = client.post(
        "/api/v1/registrations",
        json=_registration(
            site, website="http://192.168.1.1/", source_url=site.url("/presse.rss")
        ),
    )

    assert response.status_code == 422
    assert response.json()["message"].startswith("http://192.168.1.1/ leads to a")
    assert site.requests_for("/presse.rss") == []
    assert _count(portal, Registration) == 0


@SQLITE_ONLY
def test_registration_is_withdrawn_when_its_e_mail_cannot_be_sent(portal, site):
    _serve_town(site)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    portal.settings = portal.settings.model_copy(
        update={"smtp_url": f"smtp://127.0.0.1:{closed}"}
    )

    with _client(portal) as client:
        response = client.post("/api/v1/registrations", json=_registration(site))

    assert response.status_code == 503
    assert response.json()["error"] == "mail_failed"
    assert _count(portal, Registration) == 0
    with portal.sessions() as session:
        outcomes = session.scalars(select(RegistrationAttempt.outcome)).all()
        assert sorted(outcomes) == ["accepted", "mail_failed"]
