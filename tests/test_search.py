"""Search over titles and text, on SQLite (FTS5) and PostgreSQL (tsvector)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlalchemy import MetaData, Table, create_engine, insert, make_url, text

from aggregator.runtime import Runtime
from aggregator.settings import Settings
from extractors.entry import Entry
from publisher.excerpts import excerpt, mark_words, plain
from storage.database import make_engine, make_session_factory, upgrade_database
from storage.items import save_entries
from storage.models import Item
from storage.regions import upsert_regions
from storage.search import (
    SearchError,
    SearchFilters,
    next_search_cursor,
    parse_query,
    region_code,
    search_body,
    search_stories,
)
from storage.sources import sync_sources

NOW = datetime.now(UTC).replace(microsecond=0)
SOURCES = [
    {"id": "malmo", "name": "Malmö stad", "kind": "feed",
     "url": "https://malmo.example/rss", "publisher": "municipality",
     "country": "SE", "region": "SE224", "languages": ["sv"]},
    {"id": "wien", "name": "Stadt Wien", "kind": "feed",
     "url": "https://wien.example/rss", "publisher": "municipality",
     "country": "AT", "region": "AT130", "languages": ["de"]},
    {"id": "noe", "name": "Land Niederösterreich", "kind": "feed",
     "url": "https://noe.example/rss", "publisher": "region",
     "country": "AT", "region": "AT12", "languages": ["de"]},
]  # fmt: skip
TREE = [
    ("EU", None, "eu", None, "European Union", "EU/"),
    ("SE", "EU", "country", "SE", "Sverige", "EU/SE/"),
    ("SE2", "SE", "nuts1", "SE", "Södra Sverige", "EU/SE/SE2/"),
    ("SE22", "SE2", "nuts2", "SE", "Sydsverige", "EU/SE/SE2/SE22/"),
    ("SE224", "SE22", "nuts3", "SE", "Skåne län", "EU/SE/SE2/SE22/SE224/"),
    ("AT", "EU", "country", "AT", "Österreich", "EU/AT/"),
    ("AT1", "AT", "nuts1", "AT", "Ostösterreich", "EU/AT/AT1/"),
    ("AT12", "AT1", "nuts2", "AT", "Niederösterreich", "EU/AT/AT1/AT12/"),
    ("AT13", "AT1", "nuts2", "AT", "Wien", "EU/AT/AT1/AT13/"),
    ("AT130", "AT13", "nuts3", "AT", "Wien", "EU/AT/AT1/AT13/AT130/"),
]
TRAM = "https://wien.example/tram"
TRAM_TEXT = (
    "Die Wiener Linien bauen eine neue <strong>Straßenbahnlinie</strong> von "
    "Favoriten nach Rothneusiedl. Der Gemeinderat hat dem Projekt zugestimmt, "
    "die ersten Züge fahren im Herbst des kommenden Jahres alle zehn Minuten."
)
BUSY = 23


def _entry(title: str, link: str, hours: float, text: str, lang: str) -> Entry:
    return Entry(
        title=title, link=link, content_html=f"<p>{text}</p>", language=lang,
        published=NOW - timedelta(hours=hours),
    )  # fmt: skip


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def filled(request, tmp_path_factory, classifiers):
    """One portal per database for the whole module: tests that change it
    change items no other test reads."""
    folder = tmp_path_factory.mktemp("search")
    url = f"sqlite:///{folder / 'search.db'}"
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_server")
    settings = Settings(
        database_url=url, sources_file=folder / "sources.yaml",
        base_url="http://portal.test",
    )  # fmt: skip
    runtime = Runtime.build(settings, classifiers=classifiers)
    runtime.upgrade()
    _fill(runtime)
    yield runtime
    runtime.close()
    if request.param == "postgresql":
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()


def _fill(runtime: Runtime) -> None:
    rows = [
        {"code": code, "parent": parent, "level": level, "country": country,
         "name": name, "names": [], "population": None, "path": path,
         "replaces": None, "origin": "gazetteer"}
        for code, parent, level, country, name, path in TREE
    ]  # fmt: skip
    roadworks = [
        _entry(f"Baustelle Nummer {n}", f"https://noe.example/b{n}", 10 + n,
               "Auf der Landesstraße wird gebaut. Umleitung beachten.", "de")
        for n in range(BUSY)
    ]  # fmt: skip
    with runtime.sessions() as session:
        upsert_regions(session, rows)
        sync_sources(session, SOURCES, NOW)
        save_entries(session, "malmo", [
            _entry("Nya cykelbanor i Malmö", "https://malmo.example/1", 1,
                   "Staden bygger nya cykelbanor längs kusten för en budget på "
                   "40 miljoner kronor.", "sv"),
        ], NOW)  # fmt: skip
        save_entries(session, "wien", [
            _entry("Neue Straßenbahnlinie in Favoriten", TRAM, 2, TRAM_TEXT, "de"),
            _entry("Öffnungszeiten", "https://wien.example/hours", 30,
                   "Das Rathaus öffnet montags um acht Uhr.", "de"),
            _entry("Budget 2027 beschlossen", "https://wien.example/budget", 0.5,
                   "Der Gemeinderat hat das Budget beschlossen, mit neuen "
                   "Parkbänken für den Bezirk Favoriten.", "de"),
        ], NOW)  # fmt: skip
        # The same article reached through another source: one story.
        save_entries(session, "noe", [
            _entry("Neue Straßenbahnlinie in Favoriten", TRAM, 1.5, TRAM_TEXT, "de"),
            *roadworks,
        ], NOW)  # fmt: skip
        session.commit()
    runtime.place_waiting()
    runtime.classify_waiting()


def _titles(runtime, query, **filters) -> list[str]:
    with runtime.sessions() as session:
        hits = search_stories(session, query, SearchFilters(**filters))
        return [hit.item.title for hit in hits]


def test_search_finds_by_title_and_body_word_ignoring_case_and_diacritics(filled):
    assert _titles(filled, "Malmo") == ["Nya cykelbanor i Malmö"]
    assert _titles(filled, "KUSTEN") == ["Nya cykelbanor i Malmö"]
    # A word only in the HTML body, inside markup.
    assert _titles(filled, "Straßenbahnlinie zugestimmt") == [
        "Neue Straßenbahnlinie in Favoriten"
    ]
    # Title words rank first; an item with the word only in its text follows,
    # although it is newer.
    assert _titles(filled, "favoriten") == [
        "Neue Straßenbahnlinie in Favoriten",
        "Budget 2027 beschlossen",
    ]
    assert _titles(filled, "parkbän*") == ["Budget 2027 beschlossen"]
    assert _titles(filled, "strong") == []


def test_search_shows_one_item_per_story(filled):
    with filled.sessions() as session:
        hits = search_stories(session, "Straßenbahnlinie")

    assert len(hits) == 1
    assert hits[0].item.story_role == "headline"


def test_search_filters_by_language_region_topic_and_date(filled):
    malmo, vienna = ["Nya cykelbanor i Malmö"], ["Budget 2027 beschlossen"]
    assert _titles(filled, "budget", language="de") == vienna
    assert _titles(filled, "budget", language="sv") == malmo
    assert _titles(filled, "budget", region="SE") == malmo
    assert _titles(filled, "budget", region="SE224") == malmo
    assert _titles(filled, "budget", region="AT") == vienna
    assert _titles(filled, "budget", since=NOW - timedelta(minutes=45)) == vienna
    assert _titles(filled, "budget", until=NOW - timedelta(minutes=45)) == malmo
    assert _titles(filled, "Gemeinderat", topic="mobility-transport") == [
        "Neue Straßenbahnlinie in Favoriten"
    ]
    with filled.sessions() as session:
        assert region_code(session, "skåne län") == "SE224"
        assert region_code(session, "Wien") == "AT13"
        assert region_code(session, "at130") == "AT130"
        with pytest.raises(SearchError, match="No region"):
            region_code(session, "Atlantis")


def test_hostile_query_is_words_never_syntax(filled):
    hostile = ['AND OR NOT "*(', "NEAR(", "title:x", "'; DROP TABLE items; --", "a*"]
    with filled.sessions() as session:
        for query in hostile:
            assert isinstance(search_stories(session, query), list)
        assert search_stories(session, "NEAR(Gemeinderat") == []
        assert [hit.item.title for hit in search_stories(session, '"Gemeinderat')] == [
            "Budget 2027 beschlossen",
            "Neue Straßenbahnlinie in Favoriten",
        ]


def test_query_without_words_is_refused_with_a_reason(filled):
    with filled.sessions() as session:
        for query in ("", "  ", '"*()"'):
            with pytest.raises(SearchError, match="at least one word"):
                search_stories(session, query)


def test_edited_item_is_found_by_its_new_text_only(filled):
    assert _titles(filled, "montags") == ["Öffnungszeiten"]
    with filled.sessions() as session:
        save_entries(session, "wien", [
            _entry("Neue Öffnungszeiten", "https://wien.example/hours", 30,
                   "Das Rathaus öffnet dienstags um acht Uhr.", "de"),
        ], NOW + timedelta(minutes=5))  # fmt: skip
        session.commit()

    assert _titles(filled, "dienstags") == ["Neue Öffnungszeiten"]
    assert _titles(filled, "montags") == []
    assert _titles(filled, "neue öffnungszeiten") == ["Neue Öffnungszeiten"]


def test_pages_stay_stable_when_news_arrive_between_them(filled):
    with filled.sessions() as session:
        first = search_stories(session, "Baustelle", limit=10)
        cursor = next_search_cursor(first, 10)
        save_entries(session, "noe", [
            _entry("Baustelle an der Donau", "https://noe.example/new", 0,
                   "Neue Baustelle.", "de"),
        ], NOW)  # fmt: skip
        session.commit()
        rest = []
        while cursor is not None:
            page = search_stories(session, "Baustelle", limit=10, after=cursor)
            rest += page
            cursor = next_search_cursor(page, 10)

    titles = [hit.item.title for hit in first + rest]
    assert len(titles) == len(set(titles)) == BUSY
    assert titles[:2] == ["Baustelle Nummer 0", "Baustelle Nummer 1"]


def test_search_page_and_api_show_results_filters_and_messages(filled):
    with TestClient(filled.web_app()) as client:
        found = client.get("/search", params={"q": "malmo KUSTEN", "region": "Sverige"})
        nothing = client.get("/de/search", params={"q": "Zeppelin"})
        empty = client.get("/search", params={"q": "()"})
        api = client.get("/api/v1/search", params={"q": "budget", "lang": "de"})
        refused = client.get("/api/v1/search", params={"q": "*"})
        home = client.get("/")
        any_language = client.get("/regions/AT", params={"lang": ""})

    page = BeautifulSoup(found.text, "lxml")
    assert [a.get_text() for a in page.select("main ol.items h2 a")] == [
        "Nya cykelbanor i Malmö"
    ]
    marked = [m.get_text() for m in page.select("main ol.items mark")]
    assert marked == ["Malmö", "kusten"]
    assert page.select_one("input[name=region]")["value"] == "Sverige"
    assert "Keine Treffer" in BeautifulSoup(nothing.text, "lxml").main.get_text()
    assert empty.status_code == 400
    assert "at least one word" in empty.text
    assert api.json()["results"][0]["item"]["title"] == "Budget 2027 beschlossen"
    assert "Budget" in api.json()["results"][0]["excerpt"]
    assert refused.status_code == 400
    home_page = BeautifulSoup(home.text, "lxml")
    header = home_page.select_one("header form[role=search]")
    assert header["action"].endswith("/search")
    countries = {a.get_text(): a for a in home_page.select("section.countries a")}
    assert countries["Sverige"]["href"].endswith("/regions/SE")
    assert "(1 story)" in countries["Sverige"].parent.get_text()
    assert home_page.select("form.filter select[name=lang] option[value=sv]")
    assert any_language.status_code == 200


def test_excerpt_marks_the_words_and_shows_a_repeated_teaser_once():
    item = Item(
        summary="Die Stadt renoviert die Murinsel.",
        content_html="<p>Die Stadt renoviert die Murinsel.</p><p>"
        + "Der Steg bleibt gesperrt. " * 20
        + "Ende der Arbeiten an der Murinsel im Mai.</p>",
    )

    pieces = excerpt(item, parse_query("MURINSEL"))

    assert plain(pieces).count("Die Stadt renoviert") == 1
    assert plain(pieces).endswith(" …")
    assert [text for text, marked in pieces if marked] == ["Murinsel"]
    assert mark_words("Malmö och Lund", parse_query("malmo lun*")) == [
        ("Malmö", True),
        (" och ", False),
        ("Lund", True),
    ]


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request, tmp_path):
    """A database of its own: the module's filled portal holds the shared one."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    server = request.getfixturevalue("postgres_server")
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    name = f"{make_url(server).database}_empty"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(server).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_upgrade_indexes_the_items_stored_before_it(empty_database_url):
    engine = make_engine(empty_database_url)
    upgrade_database(engine, "0009")
    # The tables as that revision left them: the models know later columns.
    with engine.begin() as connection:
        sources = Table("sources", MetaData(), autoload_with=connection)
        items = Table("items", MetaData(), autoload_with=connection)
        connection.execute(insert(sources).values(
            id="malmo", name="Malmö stad", kind="feed",
            url="https://malmo.example/rss", publisher="municipality",
            languages=["sv"], state="active", created_at=NOW, updated_at=NOW,
            consecutive_failures=0,
        ))  # fmt: skip
        connection.execute(insert(items).values(
            source_id="malmo", entry_key="1", url="https://malmo.example/1",
            title="Nya cykelbanor i Malmö",
            summary="Staden bygger nya cykelbanor längs kusten.",
            content_html="", authors=[], categories=[], language="sv",
            published_at=NOW, first_seen_at=NOW, content_hash="x",
        ))  # fmt: skip

    upgrade_database(engine)
    with make_session_factory(engine)() as session:
        found = [hit.item.title for hit in search_stories(session, "malmo kusten")]
    engine.dispose()

    assert found == ["Nya cykelbanor i Malmö"]


def test_search_body_indexes_a_summary_once_when_the_article_tells_it():
    html = (
        "<h2>Neue Linie</h2>\n<p>Die <b>Wiener Linien</b> bauen eine neue "
        "Straßenbahn.</p>\n<p>Die ersten Züge fahren im Herbst.</p>"
    )
    # The text of the same HTML, as extraction writes it: said once.
    told = "Neue Linie\nDie Wiener Linien bauen eine neue Straßenbahn.\n"
    told += "Die ersten Züge fahren im Herbst."
    assert search_body(told, html).count("Straßenbahn") == 1
    # A teaser that opens the article: said once too.
    teaser = "Neue Linie\nDie Wiener Linien bauen eine neue Straßenbahn."
    assert search_body(teaser, html).count("Straßenbahn") == 1
    # A summary with words of its own keeps them in the index.
    own = "Neue Linie\nFavoriten bekommt endlich Anschluss."
    assert "Favoriten" in search_body(own, html)
    assert "Favoriten" in search_body("Favoriten", "")
    # White space alone is no summary; the trigger must not fail on it.
    assert search_body(" \n ", html).count("Straßenbahn") == 1
