"""Editors: accounts, login and its locks, CSRF, roles, source care, audit log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import select

from aggregator.cli import cli
from aggregator.runtime import Runtime
from publisher.auth import Passwords
from publisher.context import PortalConfig
from storage.audit import Actor, record_action
from storage.editors import add_editor
from storage.models import AuditEntry, EditorSession, Source
from storage.sources import due_sources, sync_sources

START = datetime(2026, 11, 5, 12, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"
SOURCES = [
    {"id": "wien", "name": "Stadt Wien", "kind": "feed",
     "url": "https://w.example/rss", "publisher": "municipality",
     "country": "AT", "languages": ["de"]},
]  # fmt: skip


class SetClock:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment


@pytest.fixture
def clock() -> SetClock:
    return SetClock(START)


@pytest.fixture
def portal(settings, clock):
    runtime = Runtime.build(settings, clock)
    runtime.upgrade()
    hashes = Passwords()
    with runtime.sessions() as session:
        sync_sources(session, SOURCES, START)
        for email, role in (
            ("ed@town.example", "editor"),
            ("ad@town.example", "admin"),
        ):
            add_editor(session, email, hashes.hash(PASSWORD), role, START)
        session.commit()
    yield runtime
    runtime.close()


@pytest.fixture
def client(portal):
    with TestClient(portal.web_app()) as client:
        yield client


def _form_token(client: TestClient, path: str) -> str:
    page = BeautifulSoup(client.get(path).text, "lxml")
    return page.select_one("input[name=csrf_token]")["value"]


def _login(client: TestClient, email: str, password: str = PASSWORD):
    token = _form_token(client, "/editor/login")
    return client.post(
        "/editor/login",
        data={"email": email, "password": password, "csrf_token": token},
        follow_redirects=False,
    )


def _audit(portal: Runtime, action: str) -> list[AuditEntry]:
    with portal.sessions() as session:
        query = select(AuditEntry).where(AuditEntry.action == action)
        return list(session.scalars(query.order_by(AuditEntry.id)))


EDITOR_GETS = [
    "/editor/",
    "/editor/editors",
    "/editor/audit",
    "/editor/review",
    "/editor/items/1",
    "/editor/stories/1",
]
EDITOR_POSTS = [
    "/editor/logout",
    "/editor/sources/wien",
    "/editor/editors",
    "/editor/editors/1",
    "/editor/review",
    "/editor/items/1",
    "/editor/stories/1",
    "/editor/sources/wien/region",
]


@pytest.mark.parametrize("path", EDITOR_GETS)
def test_every_editor_page_sends_anonymous_readers_to_the_login(client, path):
    response = client.get(path, follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"].endswith(
        f"/editor/login?next={path.replace('/', '%2F')}"
    )


@pytest.mark.parametrize("path", EDITOR_POSTS)
def test_every_editor_action_refuses_anonymous_users(client, portal, path):
    response = client.post(path, data={"csrf_token": "x", "action": "pause"})

    assert response.status_code == 403
    with portal.sessions() as session:
        assert session.get(Source, "wien").paused_at is None


def test_login_opens_a_session_in_a_strict_http_only_cookie(client):
    response = _login(client, "ED@town.example ")

    assert response.status_code == 303
    assert response.headers["location"].endswith("/editor/")
    cookie = response.headers["set-cookie"].lower()
    assert "editor_session=" in cookie
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
    # The portal in the tests is http://; over https the cookie is Secure.
    assert "secure" not in cookie
    assert PortalConfig(base_url="https://portal.example").secure_cookies
    assert client.get("/editor/").status_code == 200


def test_login_form_posted_without_its_csrf_token_is_refused(client):
    client.get("/editor/login")

    response = client.post(
        "/editor/login",
        data={"email": "ed@town.example", "password": PASSWORD, "csrf_token": "no"},
        follow_redirects=False,
    )

    assert response.status_code == 403
    assert "editor_session" not in response.headers.get("set-cookie", "")


def test_wrong_password_and_unknown_address_get_the_same_answer(client):
    wrong = _login(client, "ed@town.example", "not the password")
    unknown = _login(client, "nobody@town.example", "not the password")

    assert wrong.status_code == unknown.status_code == 401
    message = BeautifulSoup(wrong.text, "lxml").select_one("[role=alert]").text
    assert message == "Wrong e-mail address or password."
    assert BeautifulSoup(unknown.text, "lxml").select_one("[role=alert]").text == (
        message
    )


def test_tenth_wrong_password_locks_even_the_right_one_until_the_lock_passes(
    client, clock
):
    for attempt in range(9):
        assert _login(client, "ed@town.example", f"guess number {attempt}").status_code
    assert _login(client, "ed@town.example", "guess number 10").status_code == 401

    locked = _login(client, "ed@town.example")
    assert locked.status_code == 401
    assert "locked" in locked.text

    clock.moment = START + timedelta(minutes=16)
    assert _login(client, "ed@town.example").status_code == 303


def test_one_address_failing_on_many_accounts_is_refused_for_a_while(client, clock):
    for n in range(30):
        _login(client, f"someone{n}@town.example", "guessing away")

    refused = _login(client, "ed@town.example")
    assert refused.status_code == 401
    assert "Too many failed logins from your address" in refused.text

    clock.moment = START + timedelta(minutes=16)
    assert _login(client, "ed@town.example").status_code == 303


def test_an_editor_cannot_reach_admin_actions(client, portal):
    _login(client, "ed@town.example")
    token = _form_token(client, "/editor/")

    assert client.get("/editor/editors").status_code == 403
    assert client.get("/editor/audit").status_code == 403
    added = client.post(
        "/editor/editors",
        data={"csrf_token": token, "email": "x@y.example", "role": "admin",
              "password": "a long password 123"},
    )  # fmt: skip
    assert added.status_code == 403
    assert _audit(portal, "editor.add") == []


def test_a_form_posted_without_its_csrf_token_is_refused(client, portal):
    _login(client, "ed@town.example")

    response = client.post(
        "/editor/sources/wien", data={"csrf_token": "forged", "action": "pause"}
    )

    assert response.status_code == 403
    with portal.sessions() as session:
        assert session.get(Source, "wien").paused_at is None
    assert _audit(portal, "source.pause") == []


def test_pausing_a_source_stops_its_crawls_and_is_audited(client, portal):
    _login(client, "ed@town.example")
    token = _form_token(client, "/editor/")

    paused = client.post(
        "/editor/sources/wien", data={"csrf_token": token, "action": "pause"}
    )
    with portal.sessions() as session:
        assert due_sources(session, START + timedelta(days=1)) == []
    client.post("/editor/sources/wien", data={"csrf_token": token, "action": "resume"})
    with portal.sessions() as session:
        assert [s.id for s in due_sources(session, START)] == ["wien"]

    assert paused.status_code == 200  # followed to the editor's page
    [entry] = _audit(portal, "source.pause")
    assert entry.actor == "ed@town.example"
    assert entry.before["paused_at"] is None
    assert entry.after["paused_at"] == START.isoformat()
    assert _audit(portal, "source.resume")[0].after["paused_at"] is None


def test_trust_and_poll_interval_changes_are_checked_and_audited(client, portal):
    _login(client, "ed@town.example")
    token = _form_token(client, "/editor/")

    client.post(
        "/editor/sources/wien",
        data={"csrf_token": token, "action": "trust", "trust": "held"},
    )
    bad = client.post(
        "/editor/sources/wien",
        data={"csrf_token": token, "action": "interval", "poll_interval": "2"},
    )
    client.post(
        "/editor/sources/wien",
        data={"csrf_token": token, "action": "interval", "poll_interval": "30"},
    )

    assert bad.status_code == 422
    with portal.sessions() as session:
        source = session.get(Source, "wien")
        assert (source.trust, source.poll_interval) == ("held", 30)
    [trust] = _audit(portal, "source.trust")
    assert (trust.before["trust"], trust.after["trust"]) == ("trusted", "held")
    [interval] = _audit(portal, "source.interval")
    assert (interval.before["poll_interval"], interval.after["poll_interval"]) == (
        None,
        30,
    )


def test_admin_adds_promotes_and_deactivates_editors_and_sees_it_audited(
    client, portal
):
    _login(client, "ad@town.example")
    token = _form_token(client, "/editor/editors")

    weak = client.post(
        "/editor/editors",
        data={"csrf_token": token, "email": "new@town.example", "role": "editor",
              "password": "short"},
    )  # fmt: skip
    client.post(
        "/editor/editors",
        data={"csrf_token": token, "email": "new@town.example", "role": "editor",
              "password": "a long password 123"},
    )  # fmt: skip
    page = BeautifulSoup(client.get("/editor/editors").text, "lxml")
    row = next(tr for tr in page.select("tbody tr") if tr.th.text == "new@town.example")
    new_id = int(row["id"].removeprefix("editor-"))
    client.post(
        f"/editor/editors/{new_id}",
        data={"csrf_token": token, "action": "role", "role": "admin"},
    )
    client.post(
        f"/editor/editors/{new_id}", data={"csrf_token": token, "action": "deactivate"}
    )

    assert weak.status_code == 422
    assert "at least 12 characters" in weak.text
    assert [e.after for e in _audit(portal, "editor.add")] == [
        {"email": "new@town.example", "role": "editor", "active": True}
    ]
    [promoted] = _audit(portal, "editor.role")
    assert (promoted.before["role"], promoted.after["role"]) == ("editor", "admin")
    [deactivated] = _audit(portal, "editor.deactivate")
    assert (deactivated.before["active"], deactivated.after["active"]) == (True, False)

    audit = BeautifulSoup(
        client.get("/editor/audit?action=editor.role").text, "lxml"
    ).select("table.audit tbody tr")
    assert len(audit) == 1
    assert "ad@town.example" in audit[0].text


def test_deactivating_an_editor_ends_their_sessions_at_once(portal, client):
    other = TestClient(portal.web_app())
    _login(other, "ed@town.example")
    assert other.get("/editor/", follow_redirects=False).status_code == 200

    _login(client, "ad@town.example")
    token = _form_token(client, "/editor/editors")
    with portal.sessions() as session:
        editor_id = session.scalar(
            select(EditorSession.editor_id).order_by(EditorSession.created_at)
        )
    client.post(
        f"/editor/editors/{editor_id}",
        data={"csrf_token": token, "action": "deactivate"},
    )

    assert other.get("/editor/", follow_redirects=False).status_code == 303
    assert _login(other, "ed@town.example").status_code == 401


def test_logout_ends_the_session_on_the_server(client):
    _login(client, "ed@town.example")
    cookie = client.cookies.get("editor_session")
    token = _form_token(client, "/editor/")

    client.post("/editor/logout", data={"csrf_token": token})
    client.cookies.set("editor_session", cookie)

    assert client.get("/editor/", follow_redirects=False).status_code == 303


def test_login_sends_the_editor_back_only_to_an_editor_page(client):
    token = _form_token(client, "/editor/login")

    response = client.post(
        "/editor/login",
        data={"email": "ed@town.example", "password": PASSWORD,
              "csrf_token": token, "next": "https://evil.example/editor"},
        follow_redirects=False,
    )  # fmt: skip

    assert response.headers["location"] == "http://testserver/editor/"


def test_command_line_adds_an_editor_with_a_strong_password(tmp_path, monkeypatch):
    monkeypatch.setenv("AGGREGATOR_DATABASE_URL", f"sqlite:///{tmp_path / 'e.db'}")
    runner = CliRunner()
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0

    weak = runner.invoke(
        cli, ["editors", "add", "a@b.example", "--password-stdin"], input="short\n"
    )
    added = runner.invoke(
        cli,
        ["editors", "add", "a@b.example", "--role", "admin", "--password-stdin"],
        input=f"{PASSWORD}\n",
    )
    again = runner.invoke(
        cli,
        ["editors", "add", "a@b.example", "--password-stdin"],
        input=f"{PASSWORD}\n",
    )
    listed = runner.invoke(cli, ["editors", "list"], env={"COLUMNS": "200"})

    assert weak.exit_code == 1 and "at least 12 characters" in weak.output
    assert added.exit_code == 0, added.output
    assert again.exit_code == 1 and "exists already" in again.output
    assert "a@b.example" in listed.output and "admin" in listed.output


def test_audit_entries_keep_dates_readable(portal):
    with portal.sessions() as session:
        entry = record_action(
            session,
            Actor("operator"),
            "source.pause",
            ("source", "wien"),
            START,
            before={"paused_at": None},
            after={"paused_at": START},
        )
        session.commit()
        assert entry.after == {"paused_at": "2026-11-05T12:00:00+00:00"}
