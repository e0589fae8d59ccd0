"""The portal's pages and feeds, parsed as a reader's software would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import feedparser
import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from extractors.entry import Entry
from storage.items import save_entries
from storage.sources import sync_sources

NOW = datetime(2026, 11, 5, 12, 0, tzinfo=UTC)
SOURCES = [
    {"id": "wien", "name": "Stadt Wien", "kind": "feed",
     "url": "https://w.example/rss", "publisher": "municipality",
     "country": "AT", "languages": ["de"]},
    {"id": "lyon", "name": "Ville de Lyon", "kind": "feed",
     "url": "https://l.example/atom", "publisher": "municipality",
     "country": "FR", "languages": ["fr"]},
]  # fmt: skip


@pytest.fixture
def client(runtime):
    with runtime.sessions() as session:
        sync_sources(session, SOURCES, NOW)
        wien = [
            Entry(
                title=f"Meldung {n}",
                link=f"https://w.example/{n}",
                summary="Text",
                language="de",
                published=NOW - timedelta(hours=n),
            )
            for n in range(1, 36)
        ]
        lyon = [
            Entry(
                title="Conseil municipal\x0b du 5 novembre",
                link="https://l.example/conseil",
                summary="Ordre du jour\x01 publié",
                content_html="<p>Ordre du jour</p>",
                language="fr",
                published=NOW - timedelta(minutes=30),
            )
        ]
        save_entries(session, "wien", wien, NOW)
        save_entries(session, "lyon", lyon, NOW)
        session.commit()
    with TestClient(runtime.web_app()) as client:
        yield client


def _titles(html: str) -> list[str]:
    page = BeautifulSoup(html, "lxml")
    return [a.get_text() for a in page.select("main article h2 a")]


def test_home_page_shows_newest_first_and_pages_through_the_rest(client):
    first = client.get("/")
    older = BeautifulSoup(first.text, "lxml").select_one("a[rel=next]")["href"]
    second = client.get(older)

    first_titles = _titles(first.text)
    assert first_titles[:2] == ["Conseil municipal du 5 novembre", "Meldung 1"]
    assert len(first_titles) == 30
    assert _titles(second.text) == [f"Meldung {n}" for n in range(30, 36)]
    assert BeautifulSoup(second.text, "lxml").select_one("a[rel=next]") is None


def test_home_page_filters_by_language(client):
    titles = _titles(client.get("/?lang=fr").text)

    assert titles == ["Conseil municipal du 5 novembre"]


def test_home_page_refuses_a_damaged_cursor(client):
    assert client.get("/?before=garbage").status_code == 400


def test_page_has_landmarks_and_a_skip_link(client):
    page = BeautifulSoup(client.get("/").text, "lxml")

    assert page.html["lang"] == "en"
    assert page.select_one("a.skip")["href"] == "#content"
    assert page.select_one("main#content") is not None
    assert page.select_one("nav[aria-label]") is not None


def test_sources_page_lists_each_source_with_its_health_and_feed(client):
    page = BeautifulSoup(client.get("/sources").text, "lxml")

    rows = {row["id"]: row for row in page.select("table.sources tbody tr")}
    assert set(rows) == {"lyon", "wien"}
    cells = [cell.get_text(strip=True) for cell in rows["wien"].select("td")]
    assert cells[2] == "35"
    assert rows["wien"].select_one("a[href$='/feeds/sources/wien.atom']")


def test_feed_strips_characters_xml_forbids(client):
    response = client.get("/feeds/all.atom")

    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.entries[0].title == "Conseil municipal du 5 novembre"


def test_source_feed_holds_only_that_source(client):
    parsed = feedparser.parse(client.get("/feeds/sources/lyon.rss").content)

    assert [entry.link for entry in parsed.entries] == ["https://l.example/conseil"]


def test_feed_language_filter_and_json_feed(client):
    document = client.get("/feeds/all.json?lang=de").json()

    assert document["version"] == "https://jsonfeed.org/version/1.1"
    assert document["language"] == "de"
    assert len(document["items"]) == 35
    assert {item["language"] for item in document["items"]} == {"de"}


@pytest.mark.parametrize("path", ["/feeds/all.pdf", "/feeds/sources/nobody.atom"])
def test_unknown_feeds_are_not_found(client, path):
    assert client.get(path).status_code == 404


def test_health_endpoint_reports_the_database(client):
    assert client.get("/healthz").json() == {"status": "ok"}
