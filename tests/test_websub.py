"""WebSub push: a real local hub is asked to subscribe by the crawl, then the
test plays that hub against the portal's callback."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from aggregator.runtime import Runtime
from extractors.feeds import parse_feed
from storage.models import FetchLog, Item, Source, WebSubSubscription
from tests.conftest import FIXTURES, Site

SOURCE = "beispiel"
CALLBACK = f"/websub/{SOURCE}"
NEW_ENTRY = """
  <entry>
    <title>Neue Radwege in der Innenstadt</title>
    <id>urn:example:beispiel:news:2</id>
    <link href="https://beispiel.example/aktuelles/radwege"/>
    <updated>2026-11-06T08:00:00Z</updated>
    <summary>Drei neue Radwege werden eröffnet.</summary>
  </entry>
"""


def _feed(hub: str, self_url: str, extra: str = "") -> str:
    text = (FIXTURES / "feeds" / "websub.atom").read_text(encoding="utf-8")
    text = text.replace("HUB_URL", hub).replace("SELF_URL", self_url)
    return text.replace("  <entry>", extra + "  <entry>", 1)


class SetClock:
    def __init__(self, now: datetime) -> None:
        self.moment = now

    def now(self) -> datetime:
        return self.moment


@pytest.fixture
def town(runtime: Runtime, site: Site) -> Runtime:
    """A source whose feed names the local hub, crawled once."""
    site.serve("/hub", "", "text/plain", status=202)
    site.serve("/feed.atom", _feed(site.url("/hub"), site.url("/feed.atom")))
    _register(runtime, site)
    asyncio.run(runtime.crawl())
    return runtime


@pytest.fixture
def portal(town: Runtime):
    with TestClient(town.web_app()) as client:
        yield client


def _subscription(runtime: Runtime) -> WebSubSubscription:
    with runtime.sessions() as session:
        found = session.scalars(select(WebSubSubscription)).one()
        session.expunge(found)
        return found


def _source(runtime: Runtime) -> Source:
    with runtime.sessions() as session:
        source = session.get(Source, SOURCE)
        assert source is not None
        return source


def _titles(runtime: Runtime) -> list[str]:
    with runtime.sessions() as session:
        return sorted(session.scalars(select(Item.title)))


def _hub_forms(site: Site) -> list[dict[str, str]]:
    forms = []
    for path, body in site.posts:
        if path == "/hub":
            fields = parse_qs(body.decode("ascii"), keep_blank_values=True)
            forms.append({name: values[0] for name, values in fields.items()})
    return forms


def _verify(client: TestClient, topic: str, challenge: str = "c-4711", **extra):
    params = {
        "hub.mode": "subscribe",
        "hub.topic": topic,
        "hub.challenge": challenge,
        "hub.lease_seconds": "86400",
        **extra,
    }
    return client.get(CALLBACK, params=params)


def _sign(body: bytes, secret: str, method: str = "sha256") -> str:
    digest = hmac.new(secret.encode(), body, getattr(hashlib, method)).hexdigest()
    return f"{method}={digest}"


def _push(client: TestClient, body: bytes, signature: str | bytes | None):
    headers: dict[str, str | bytes] = {"Content-Type": "application/atom+xml"}
    if signature is not None:
        headers["X-Hub-Signature"] = signature
    return client.post(CALLBACK, content=body, headers=headers)


def test_parse_feed_finds_hub_and_self_in_atom_and_rss():
    rss = b"""<?xml version="1.0"?>
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel>
<title>Comune</title><link>https://comune.example/</link>
<atom:link rel="hub" href="https://hub.example/"/>
<atom:link rel="self" href="https://comune.example/rss" type="application/rss+xml"/>
<item><title>Avviso</title><link>https://comune.example/1</link></item>
</channel></rss>"""
    atom = _feed("/hub", "feed.atom").encode()

    from_rss = parse_feed(rss, "https://comune.example/rss")
    from_atom = parse_feed(atom, "https://stadt.example/news/feed.atom")

    assert (from_rss.hub, from_rss.self_url) == (
        "https://hub.example/",
        "https://comune.example/rss",
    )
    assert (from_atom.hub, from_atom.self_url) == (
        "https://stadt.example/hub",
        "https://stadt.example/news/feed.atom",
    )


def test_parse_feed_without_hub_gives_empty_hub():
    body = (FIXTURES / "feeds" / "rss20.xml").read_bytes()

    assert parse_feed(body, "https://x.example/rss").hub == ""


def test_crawl_subscribes_at_the_hub_the_feed_names(town, site):
    forms = _hub_forms(site)
    subscription = _subscription(town)

    assert len(forms) == 1
    form = forms[0]
    assert form["hub.mode"] == "subscribe"
    assert form["hub.topic"] == site.url("/feed.atom")
    assert form["hub.callback"] == "http://portal.test/websub/beispiel"
    assert form["hub.lease_seconds"] == str(7 * 86400)
    assert form["hub.secret"] == subscription.secret
    assert 32 <= len(subscription.secret) < 200
    assert subscription.state == "pending"
    assert _titles(town) == ["Gemeinderat tagt am Donnerstag"]


def test_a_second_crawl_does_not_ask_a_hub_that_is_still_verifying(town, site):
    town.make_all_due()
    asyncio.run(town.crawl())

    assert len(_hub_forms(site)) == 1


def test_verification_echoes_the_challenge_and_activates_the_lease(town, site, portal):
    before = datetime.now(UTC)

    answer = _verify(portal, site.url("/feed.atom"))

    subscription = _subscription(town)
    assert answer.status_code == 200
    assert answer.text == "c-4711"
    assert answer.headers["content-type"].startswith("text/plain")
    assert subscription.state == "active"
    assert subscription.lease_expires_at is not None
    lease = subscription.lease_expires_at - before
    assert timedelta(hours=23, minutes=59) < lease < timedelta(hours=24, minutes=1)


def test_verification_with_a_wrong_topic_gets_404_and_changes_nothing(
    town, site, portal
):
    wrong = _verify(portal, site.url("/other.atom"))
    unknown = portal.get(
        "/websub/nobody",
        params={"hub.mode": "subscribe", "hub.topic": site.url("/feed.atom"),
                "hub.challenge": "x"},
    )  # fmt: skip

    assert (wrong.status_code, unknown.status_code) == (404, 404)
    assert "c-4711" not in wrong.text
    assert _subscription(town).state == "pending"


def test_verification_of_an_unsubscribe_we_never_asked_for_gets_404(town, site, portal):
    answer = _verify(portal, site.url("/feed.atom"), **{"hub.mode": "unsubscribe"})

    assert answer.status_code == 404
    assert _subscription(town).state == "pending"


def test_signed_push_stores_the_new_entry_as_an_item(town, site, portal):
    _verify(portal, site.url("/feed.atom"))
    secret = _subscription(town).secret
    body = _feed(site.url("/hub"), site.url("/feed.atom"), NEW_ENTRY).encode()

    answer = _push(portal, body, _sign(body, secret))

    assert answer.status_code == 202
    assert _titles(town) == [
        "Gemeinderat tagt am Donnerstag",
        "Neue Radwege in der Innenstadt",
    ]
    with town.sessions() as session:
        item = session.scalars(select(Item).where(Item.title.like("Neue%"))).one()
        log = session.scalars(select(FetchLog).where(FetchLog.outcome == "push")).one()
    assert item.language == "de"
    assert (log.items_new, log.entries_found, log.error) == (1, 2, None)
    subscription = _subscription(town)
    assert subscription.pushes == 1
    assert subscription.last_push_at is not None


@pytest.mark.parametrize("method", ["sha1", "sha384", "sha512"])
def test_push_signed_with_any_websub_method_is_accepted(town, site, portal, method):
    _verify(portal, site.url("/feed.atom"))
    body = _feed(site.url("/hub"), site.url("/feed.atom"), NEW_ENTRY).encode()

    _push(portal, body, _sign(body, _subscription(town).secret, method))

    assert "Neue Radwege in der Innenstadt" in _titles(town)


@pytest.mark.parametrize(
    "signature",
    [None, "sha256=" + "0" * 64, "md5=abc", b"sha256=d\xe9", "garbage"],
    ids=["missing", "wrong", "unknown-method", "non-ascii", "malformed"],
)
def test_push_with_a_bad_signature_is_acknowledged_but_stores_nothing(
    town, site, portal, caplog, signature
):
    _verify(portal, site.url("/feed.atom"))
    body = _feed(site.url("/hub"), site.url("/feed.atom"), NEW_ENTRY).encode()

    with caplog.at_level(logging.WARNING, logger="publisher.websub_views"):
        answer = _push(portal, body, signature)

    assert 200 <= answer.status_code < 300
    assert _titles(town) == ["Gemeinderat tagt am Donnerstag"]
    assert _subscription(town).pushes == 0
    assert any("signature" in record.getMessage() for record in caplog.records)


def test_push_signed_with_another_secret_stores_nothing(town, site, portal):
    _verify(portal, site.url("/feed.atom"))
    body = _feed(site.url("/hub"), site.url("/feed.atom"), NEW_ENTRY).encode()

    _push(portal, body, _sign(body, "not-the-secret"))

    assert _titles(town) == ["Gemeinderat tagt am Donnerstag"]


def test_push_larger_than_the_body_cap_is_refused(town, site, portal):
    _verify(portal, site.url("/feed.atom"))
    body = b"x" * (town.settings.max_body_bytes + 1)

    answer = _push(portal, body, _sign(body, _subscription(town).secret))

    assert answer.status_code == 413
    assert _subscription(town).pushes == 0


def test_push_to_a_source_without_subscription_gets_410(portal):
    answer = portal.post("/websub/nobody", content=b"<feed/>")

    assert answer.status_code == 410


def test_signed_push_that_is_no_feed_is_logged_and_stores_nothing(town, site, portal):
    _verify(portal, site.url("/feed.atom"))
    body = b"<html><body>no feed</body></html>"

    answer = _push(portal, body, _sign(body, _subscription(town).secret))

    assert answer.status_code == 202
    assert _titles(town) == ["Gemeinderat tagt am Donnerstag"]
    with town.sessions() as session:
        log = session.scalars(select(FetchLog).where(FetchLog.outcome == "push")).one()
    assert log.error_kind == "not_a_feed"


def test_subscribed_source_is_polled_rarely(town, site, portal):
    first_poll = _source(town).next_fetch_at - _source(town).last_fetched_at
    _verify(portal, site.url("/feed.atom"))

    town.make_all_due()
    asyncio.run(town.crawl())

    source = _source(town)
    subscribed_poll = source.next_fetch_at - source.last_fetched_at
    assert first_poll < timedelta(hours=2)
    # The granted lease (a day) caps the 24 h the setting asks for.
    assert (
        timedelta(hours=23, minutes=50)
        < subscribed_poll
        < timedelta(hours=24, minutes=1)
    )


def test_signed_push_moves_the_next_poll_out(town, site, portal):
    polled_at = _source(town).next_fetch_at
    _verify(portal, site.url("/feed.atom"))
    body = _feed(site.url("/hub"), site.url("/feed.atom"), NEW_ENTRY).encode()

    _push(portal, body, _sign(body, _subscription(town).secret))

    assert _source(town).next_fetch_at > polled_at + timedelta(hours=20)


def test_denied_subscription_is_recorded_and_not_asked_again(town, site, portal):
    answer = portal.get(
        CALLBACK,
        params={"hub.mode": "denied", "hub.topic": site.url("/feed.atom"),
                "hub.reason": "topic not served here"},
    )  # fmt: skip
    town.clock = SetClock(datetime.now(UTC) + timedelta(days=2))
    town.make_all_due()
    asyncio.run(town.crawl())

    subscription = _subscription(town)
    assert answer.status_code == 200
    assert subscription.state == "denied"
    assert subscription.last_error == "topic not served here"
    assert len(_hub_forms(site)) == 1


def test_renewal_is_asked_with_the_same_secret_once_80_percent_of_the_lease_passed(
    town, site, portal
):
    _verify(portal, site.url("/feed.atom"), **{"hub.lease_seconds": "864000"})
    secret = _subscription(town).secret

    town.clock = SetClock(datetime.now(UTC) + timedelta(days=7))
    asyncio.run(town.crawl())
    town.clock = SetClock(datetime.now(UTC) + timedelta(days=9))
    asyncio.run(town.crawl())

    forms = _hub_forms(site)
    assert len(forms) == 2
    assert forms[1]["hub.secret"] == secret
    assert _verify(portal, site.url("/feed.atom"), "again").text == "again"


def test_hub_refusal_is_recorded_and_the_crawl_still_stores_items(runtime, site):
    site.serve("/hub", "topic unknown", "text/plain", status=400)
    site.serve("/feed.atom", _feed(site.url("/hub"), site.url("/feed.atom")))
    _register(runtime, site)

    summary = asyncio.run(runtime.crawl())

    subscription = _subscription(runtime)
    assert summary.fetched == 1
    assert _titles(runtime) == ["Gemeinderat tagt am Donnerstag"]
    assert "HTTP 400" in (subscription.last_error or "")
    assert "topic unknown" in (subscription.last_error or "")


def test_hub_at_a_private_address_is_never_contacted(runtime, site):
    site.serve("/feed.atom", _feed("http://10.1.2.3/hub", site.url("/feed.atom")))
    _register(runtime, site)

    asyncio.run(runtime.crawl())

    subscription = _subscription(runtime)
    assert "non-public address" in (subscription.last_error or "")
    assert _titles(runtime) == ["Gemeinderat tagt am Donnerstag"]


def test_hub_redirect_that_keeps_the_method_is_followed(runtime, site):
    site.serve("/hub", "", "text/plain", status=307, headers={"Location": "/hub2"})
    site.serve("/hub2", "", "text/plain", status=202)
    site.serve("/feed.atom", _feed(site.url("/hub"), site.url("/feed.atom")))
    _register(runtime, site)

    asyncio.run(runtime.crawl())

    assert [path for path, _body in site.posts] == ["/hub", "/hub2"]
    assert _subscription(runtime).last_error is None


def test_feed_that_stops_naming_its_hub_ends_the_subscription(town, site, portal):
    _verify(portal, site.url("/feed.atom"))
    body = (FIXTURES / "feeds" / "atom10.xml").read_bytes()
    site.serve("/feed.atom", body, "application/atom+xml")

    town.make_all_due()
    asyncio.run(town.crawl())
    pushed = _push(portal, b"<feed/>", _sign(b"<feed/>", _subscription(town).secret))

    assert _subscription(town).state == "expired"
    assert pushed.status_code == 410


def test_websub_disabled_neither_subscribes_nor_serves_the_callback(runtime, site):
    runtime.settings.websub_enabled = False
    site.serve("/feed.atom", _feed(site.url("/hub"), site.url("/feed.atom")))
    _register(runtime, site)

    asyncio.run(runtime.crawl())
    with TestClient(runtime.web_app()) as client:
        answer = client.get(CALLBACK, params={"hub.mode": "subscribe"})

    assert site.posts == []
    assert answer.status_code == 404


def _register(runtime: Runtime, site: Site) -> None:
    runtime.settings.sources_file.write_text(
        f"""
sources:
  - id: {SOURCE}
    name: Stadt Beispiel
    kind: feed
    url: {site.url("/feed.atom")}
    publisher: municipality
    country: DE
    languages: [de]
""",
        encoding="utf-8",
    )
    runtime.sync_sources()
