"""Region and topic pages: the stories of a place and every place below it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from extractors.entry import Entry
from storage.items import save_entries
from storage.regions import upsert_regions
from storage.sources import sync_sources

NOW = datetime.now(UTC).replace(microsecond=0)
SOURCES = [
    {"id": "brno", "name": "Statutární město Brno", "kind": "feed",
     "url": "https://brno.example/rss", "publisher": "municipality",
     "country": "CZ", "region": "CZ064", "languages": ["cs"]},
    {"id": "wien", "name": "Stadt Wien", "kind": "feed",
     "url": "https://wien.example/rss", "publisher": "municipality",
     "country": "AT", "region": "AT130", "languages": ["de"]},
]  # fmt: skip
TREE = [
    ("EU", None, "eu", None, "European Union", "EU/"),
    ("CZ", "EU", "country", "CZ", "Česko", "EU/CZ/"),
    ("CZ0", "CZ", "nuts1", "CZ", "Česko", "EU/CZ/CZ0/"),
    ("CZ06", "CZ0", "nuts2", "CZ", "Jihovýchod", "EU/CZ/CZ0/CZ06/"),
    ("CZ064", "CZ06", "nuts3", "CZ", "Jihomoravský kraj", "EU/CZ/CZ0/CZ06/CZ064/"),
]


@pytest.fixture
def client(runtime):
    rows = [
        {"code": code, "parent": parent, "level": level, "country": country,
         "name": name, "names": [], "population": None, "path": path,
         "replaces": None, "origin": "gazetteer"}
        for code, parent, level, country, name, path in TREE
    ]  # fmt: skip
    with runtime.sessions() as session:
        upsert_regions(session, rows)
        sync_sources(session, SOURCES, NOW)
        save_entries(session, "brno", [
            Entry(title="Nová tramvajová trať do Líšně", link="https://brno.example/1",
                  summary="Dopravní podnik města Brna staví novou tramvajovou trať.",
                  language="cs", published=NOW - timedelta(hours=1)),
        ], NOW)  # fmt: skip
        save_entries(session, "wien", [
            Entry(title="Neue Straßenbahnlinie in Favoriten",
                  link="https://wien.example/1",
                  summary="Die Wiener Linien bauen eine neue Straßenbahnlinie.",
                  language="de", published=NOW - timedelta(hours=2)),
        ], NOW)  # fmt: skip
        session.commit()
    runtime.place_waiting()
    runtime.classify_waiting()
    with TestClient(runtime.web_app()) as client:
        yield client


def _titles(html: str) -> list[str]:
    return [
        a.get_text() for a in BeautifulSoup(html, "lxml").select("main ol.items h2 a")
    ]


def test_a_country_page_holds_the_news_of_its_regions_with_breadcrumbs(client):
    country = client.get("/regions/CZ")
    county = BeautifulSoup(client.get("/regions/CZ064").text, "lxml")

    assert _titles(country.text) == ["Nová tramvajová trať do Líšně"]
    assert county.h1.get_text() == "Jihomoravský kraj"
    trail = [a.get_text() for a in county.select("nav.breadcrumbs a")]
    assert trail == ["European Union", "Česko", "Česko", "Jihovýchod"]
    feed = county.select_one("link[type='application/atom+xml'][href*='regions']")
    assert feed["href"].endswith("/feeds/regions/CZ064.atom")
    places = BeautifulSoup(country.text, "lxml").select("section.children a")
    assert [a.get_text() for a in places] == ["Česko"]


def test_a_region_the_tree_lacks_still_shows_its_news_or_is_not_found(client):
    assert _titles(client.get("/regions/AT").text) == [
        "Neue Straßenbahnlinie in Favoriten"
    ]
    assert client.get("/regions/XX999").status_code == 404


def test_a_topic_page_lists_its_stories_and_narrows_by_region(client):
    everywhere = client.get("/de/topics/mobility-transport")
    in_austria = client.get("/topics/mobility-transport?region=AT")

    page = BeautifulSoup(everywhere.text, "lxml")
    assert page.h1.get_text() == "Mobilität und Verkehr"
    assert set(_titles(everywhere.text)) == {
        "Nová tramvajová trať do Líšně",
        "Neue Straßenbahnlinie in Favoriten",
    }
    assert _titles(in_austria.text) == ["Neue Straßenbahnlinie in Favoriten"]
    assert client.get("/topics/no-such-topic").status_code == 404
