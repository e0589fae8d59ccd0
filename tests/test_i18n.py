"""The interface in the reader's language: catalogues, choice, formats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from extractors.entry import Entry
from publisher.i18n import (
    LOCALES,
    TRANSLATIONS,
    duration_text,
    locale_from_accept_language,
    read_catalogues,
)
from storage.items import save_entries
from storage.sources import sync_sources

PUBLISHER = Path(__file__).parent.parent / "publisher"
NOW = datetime(2026, 11, 5, 12, 0, tzinfo=UTC)
SOURCES = [
    {"id": "wien", "name": "Stadt Wien", "kind": "feed",
     "url": "https://w.example/rss", "publisher": "municipality",
     "country": "AT", "languages": ["de"]},
]  # fmt: skip


def _interface_messages() -> set[str]:
    method_map = [
        ("**.py", "python"),
        ("**/templates/**.html", "jinja2"),
        ("**/templates/mail/**.txt", "jinja2"),
    ]
    found = extract_from_dir(str(PUBLISHER), method_map)
    messages = set()
    for _, _, message, _, _ in found:
        messages.add(message[0] if isinstance(message, tuple) else message)
    return messages


@pytest.mark.parametrize("locale", [code for code in LOCALES if code != "en"])
def test_every_interface_message_is_translated(locale):
    catalogues = read_catalogues(TRANSLATIONS, locale)
    translated = {
        message.id[0] if isinstance(message.id, tuple) else message.id
        for catalogue in catalogues
        for message in catalogue
        if message.id and all(message.string if isinstance(message.string, tuple)
                              else [message.string])
    }  # fmt: skip

    assert sorted(_interface_messages() - translated) == []
    # Babel's checks: placeholders and plural forms agree with the original.
    assert [(m.id, errors) for c in catalogues for m, errors in c.check()] == []


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("de-AT,de;q=0.9,en;q=0.8", "de"),
        ("fi, sv;q=0.7, en;q=0.3", "sv"),
        ("en;q=0.2, pl;q=0.9", "pl"),
        ("pt-BR", "en"),
        ("fr;q=0, es", "es"),
        ("garbage;q=x, it", "it"),
        ("", "en"),
    ],
)
def test_accept_language_picks_the_best_interface_language(header, expected):
    assert locale_from_accept_language(header, LOCALES) == expected


@pytest.fixture
def client(runtime):
    with runtime.sessions() as session:
        sync_sources(session, SOURCES, NOW)
        entries = [
            Entry(
                title=f"Meldung {n}",
                link=f"https://w.example/{n}",
                summary="Der Gemeinderat hat getagt.",
                language="de",
                published=NOW - timedelta(hours=n),
            )
            for n in range(1, 4)
        ]
        save_entries(session, "wien", entries, NOW)
        session.commit()
    with TestClient(runtime.web_app()) as client:
        yield client


def _page(response) -> BeautifulSoup:
    assert response.status_code == 200
    return BeautifulSoup(response.text, "lxml")


def test_url_prefix_chooses_the_interface_and_links_keep_it(client):
    page = _page(client.get("/de/"))

    assert page.html["lang"] == "de"
    assert page.h1.get_text(strip=True) == "Neueste Nachrichten"
    menu = {a.get_text(strip=True): a["href"] for a in page.select("header nav a")}
    assert menu["Quellen"].endswith("/de/sources")
    assert page.select_one("link[rel=stylesheet]")["href"].endswith(
        "/de/static/portal.css"
    )


def test_item_text_stays_in_its_own_language_with_a_label(client):
    page = _page(client.get("/fr/"))

    article = page.select_one("main article")
    assert article["lang"] == "de"
    assert article.h2.get_text() == "Meldung 1"
    assert "allemand" in article.select_one(".language")["title"]


def test_accept_language_chooses_when_there_is_no_prefix(client):
    response = client.get("/sources", headers={"Accept-Language": "sv-FI,sv;q=0.9"})

    page = _page(response)
    assert page.html["lang"] == "sv"
    assert page.h1.get_text() == "Källor"
    assert "accept-language" in response.headers["vary"].lower()


def test_prefix_wins_over_accept_language(client):
    page = _page(client.get("/pl/sources", headers={"Accept-Language": "de"}))

    assert page.html["lang"] == "pl"
    # Polish has three plural forms; one source takes the singular.
    assert page.select_one("main p").get_text().startswith("1 źródło.")


def test_language_menu_leads_to_the_same_page_in_each_language(client):
    page = _page(client.get("/sv/sources?x=1"))

    menu = page.select("nav.languages a")
    assert [a["hreflang"] for a in menu] == list(LOCALES)
    assert {a["hreflang"]: a["href"] for a in menu}["bg"] == "/bg/sources?x=1"
    assert page.select_one("nav.languages a[aria-current]")["hreflang"] == "sv"
    assert _page(client.get("/bg/sources")).h1.get_text() == "Източници"


def test_dates_are_written_in_the_readers_locale(client):
    german = _page(client.get("/de/")).select_one("main article time")
    english = _page(client.get("/en/")).select_one("main article time")

    assert german["datetime"] == english["datetime"] == "2026-11-05T11:00:00+00:00"
    assert german.get_text().startswith("05.11.26")
    assert english.get_text().startswith("11/5/26")


def test_a_bare_locale_prefix_is_the_home_page(client):
    assert _page(client.get("/it")).h1.get_text(strip=True) == "Ultime notizie"


def test_feeds_answer_under_a_locale_prefix_too(client):
    response = client.get("/es/feeds/all.atom")

    assert response.status_code == 200
    assert "Meldung 1" in response.text


@pytest.mark.parametrize(
    ("delay", "locale", "expected"),
    [
        (timedelta(hours=3, minutes=20), "en", "3 hr 20 min"),
        (timedelta(hours=3, minutes=20), "de", "3 Std. 20 Min."),
        (timedelta(days=2, hours=4, minutes=5), "pl", "2 dni 4 godz."),
        (timedelta(days=1, minutes=3), "fr", "1\u202fj"),
        (timedelta(seconds=45), "sv", "45 s"),
        (None, "en", "–"),
    ],
)
def test_delays_are_written_in_two_units_of_the_readers_language(
    delay, locale, expected
):
    assert duration_text(delay, locale) == expected
