"""The JSON API and its OpenAPI document, and the OPML export of sources."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

import pytest
from fastapi.testclient import TestClient

from extractors.entry import Entry
from storage.items import save_entries
from storage.sources import sync_sources

NOW = datetime(2026, 11, 5, 12, 0, tzinfo=UTC)
SOURCES = [
    {"id": "wien", "name": "Stadt Wien", "kind": "feed",
     "url": "https://w.example/rss", "publisher": "municipality",
     "country": "AT", "languages": ["de"], "website": "https://w.example/"},
    {"id": "lyon", "name": "Ville de Lyon & Métropole", "kind": "page",
     "url": "https://l.example/presse", "publisher": "municipality",
     "country": "FR", "languages": ["fr"]},
]  # fmt: skip


def _entries(prefix: str, language: str, count: int, start: datetime) -> list[Entry]:
    return [
        Entry(
            title=f"{prefix} {n}",
            link=f"https://{language}.example/{n}",
            summary=f"{prefix} {n} summary",
            language=language,
            published=start - timedelta(hours=n),
            categories=("Rathaus",),
        )
        for n in range(1, count + 1)
    ]


@pytest.fixture
def client(runtime):
    with runtime.sessions() as session:
        sync_sources(session, SOURCES, NOW)
        save_entries(session, "wien", _entries("Meldung", "de", 35, NOW), NOW)
        save_entries(session, "lyon", _entries("Annonce", "fr", 3, NOW), NOW)
        session.commit()
    with TestClient(runtime.web_app()) as client:
        client.runtime = runtime
        yield client


def test_openapi_document_describes_the_api_and_only_the_api(client):
    document = client.get("/api/v1/openapi.json").json()

    assert document["openapi"].startswith("3.")
    assert set(document["paths"]) == {
        "/api/v1/items",
        "/api/v1/items/{item_id}",
        "/api/v1/sources",
        "/api/v1/sources/{source_id}",
        "/api/v1/search",
    }
    assert "ApiItem" in document["components"]["schemas"]
    search = document["paths"]["/api/v1/search"]["get"]
    assert {p["name"] for p in search["parameters"]} >= {
        "q",
        "region",
        "topic",
        "lang",
        "from",
        "to",
        "before",
        "limit",
    }


def test_items_page_through_newest_first_without_gaps_or_repeats(client):
    first = client.get("/api/v1/items?limit=20").json()

    # A new arrival between two pages must not shift the second one.
    with client.runtime.sessions() as session:
        late = _entries("Eilmeldung", "de", 1, NOW + timedelta(hours=2))
        save_entries(session, "wien", late, NOW)
        session.commit()
    second = client.get(f"/api/v1/items?limit=20&before={first['next']}").json()

    seen = [item["title"] for item in first["items"] + second["items"]]
    assert len(seen) == len(set(seen)) == 38
    assert second["next"] is None
    dates = [item["published_at"] for item in first["items"] + second["items"]]
    assert dates == sorted(dates, reverse=True)


def test_items_filter_by_language_and_source(client):
    french = client.get("/api/v1/items?lang=fr").json()["items"]
    wien = client.get("/api/v1/items?source=wien&limit=200").json()["items"]

    assert [item["title"] for item in french] == ["Annonce 1", "Annonce 2", "Annonce 3"]
    assert {item["source_id"] for item in wien} == {"wien"}
    assert len(wien) == 35


def test_one_item_with_everything_a_client_needs(client):
    listed = client.get("/api/v1/items?lang=fr&limit=1").json()["items"][0]

    item = client.get(f"/api/v1/items/{listed['id']}").json()

    assert item == listed
    assert item["url"] == "https://fr.example/1"
    assert item["categories"] == ["Rathaus"]
    assert item["language"] == "fr"


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/v1/items?before=garbage", 400),
        ("/api/v1/items?limit=0", 422),
        ("/api/v1/items?limit=201", 422),
        ("/api/v1/items?lang=French", 422),
        ("/api/v1/items/999999", 404),
        ("/api/v1/sources/nowhere", 404),
    ],
)
def test_bad_requests_get_a_clear_error(client, path, status):
    response = client.get(path)

    assert response.status_code == status
    assert response.json()["detail"]


def test_sources_with_their_health_and_feed(client):
    sources = {s["id"]: s for s in client.get("/api/v1/sources").json()["sources"]}

    assert set(sources) == {"lyon", "wien"}
    assert sources["wien"]["items"] == 35
    assert sources["wien"]["status"] == "waiting"
    assert sources["wien"]["feed_url"] == "http://portal.test/feeds/sources/wien.atom"
    assert client.get("/api/v1/sources/lyon").json() == sources["lyon"]


def test_opml_lists_every_source_with_its_portal_feed(client):
    response = client.get("/sources.opml")

    assert response.headers["content-type"].startswith("text/x-opml")
    root = ElementTree.fromstring(response.content)
    outlines = {o.get("title"): o for o in root.iter("outline")}
    assert set(outlines) == {"Stadt Wien", "Ville de Lyon & Métropole"}
    wien = outlines["Stadt Wien"]
    assert wien.get("xmlUrl") == "http://portal.test/feeds/sources/wien.atom"
    assert wien.get("htmlUrl") == "https://w.example/"
    assert wien.get("language") == "de"
    feed_path = wien.get("xmlUrl").removeprefix("http://portal.test")
    assert client.get(feed_path).status_code == 200
