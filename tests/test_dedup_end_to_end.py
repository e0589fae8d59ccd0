"""Press releases republished by several sources, crawled over real HTTP, come
out of /feeds/all.atom as one story each, credited to the original.
"""

from __future__ import annotations

import asyncio
from html import escape

import feedparser
import httpx
import pytest

from aggregator.runtime import Runtime
from tests import test_end_to_end
from tests.conftest import Site
from tests.releases import release

# The portal served over real HTTP, on the ``crawled`` runtime defined here.
portal_url = test_end_to_end.portal_url

RELEASES = ["ip_26_2101_en.txt", "ip_26_2117_en.txt", "ip_26_2130_en.txt"]
PRESSCORNER = "https://ec.example/presscorner/detail"

# What each municipality wraps a release in when it republishes it.
FRAMES = {
    "torun": (
        "Press release of the European Commission, published for the residents "
        "of Toruń.",
        "Toruń took part in the consultation. Questions to the town hall's EU "
        "desk, ul. Wały gen. Sikorskiego 8, open Monday to Friday.",
    ),
    "braga": (
        "The city of Braga shares the following communication of the European "
        "Commission.",
        "More news from the municipality on our website and in the monthly "
        "bulletin delivered to every household.",
    ),
    "gdansk": (
        "From Brussels, via the European Commission's press service:",
        "Gdańsk city hall will publish local details as soon as they are known.",
    ),
}


def _html(lines: list[str]) -> str:
    return "".join(f"<p>{escape(line)}</p>" for line in lines)


def _commission_feed() -> str:
    entries = []
    for day, name in enumerate(RELEASES, 1):
        title, body = release(name)
        number = name.split("_")[2]
        entries.append((title, body, f"{PRESSCORNER}/en/ip_26_{number}", "en", day))
    fr_title, fr_body = release("ip_26_2101_fr.txt")
    entries.append((fr_title, fr_body, f"{PRESSCORNER}/fr/ip_26_2101", "fr", 1))
    atom = [
        f"""<entry xml:lang="{lang}"><title>{escape(title)}</title>
<link href="{link}"/><id>{link}</id>
<updated>2026-12-0{day}T09:00:00Z</updated>
<content type="html">{escape(_html(body.splitlines()))}</content></entry>"""
        for title, body, link, lang, day in entries
    ]
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<feed xmlns="http://www.w3.org/2005/Atom"><title>Press corner</title>'
        f"<id>{PRESSCORNER}</id><updated>2026-12-03T09:00:00Z</updated>"
        + "".join(atom)
        + "</feed>"
    )


def _municipal_feed(site: Site, source: str) -> str:
    header, footer = FRAMES[source]
    items = []
    for day, name in enumerate(RELEASES, 1):
        title, body = release(name)
        # Republishers drop the reference number: only the text joins them.
        lines = [line for line in body.splitlines() if not line.startswith("IP/")]
        text = _html([header, *lines, footer])
        link = site.url(f"/{source}/news/{day}")
        items.append(
            f"<item><title>{escape(title)}</title><link>{link}</link>"
            f"<guid>{link}</guid>"
            f"<pubDate>0{day} Dec 2026 1{day}:30:00 GMT</pubDate>"
            f"<description>{escape(text)}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{source}</title><link>{site.url('/')}</link>"
        "<language>en</language>" + "".join(items) + "</channel></rss>"
    )


def _registry(site: Site, with_commission: bool = True) -> str:
    municipal = "".join(
        f"""
  - id: {source}
    name: {name}
    kind: feed
    url: {site.url(f"/{source}.rss")}
    publisher: municipality
    country: {country}
    languages: [en]"""
        for source, name, country in [
            ("torun", "Urząd Miasta Toruń", "PL"),
            ("braga", "Município de Braga", "PT"),
            ("gdansk", "Urząd Miejski w Gdańsku", "PL"),
        ]
    )
    commission = f"""
  - id: commission
    name: European Commission – Press corner
    kind: feed
    url: {site.url("/commission.atom")}
    publisher: eu_institution
    languages: [en, fr]"""
    return "sources:" + (commission if with_commission else "") + municipal + "\n"


@pytest.fixture
def crawled(runtime: Runtime, site: Site) -> Runtime:
    site.serve("/commission.atom", _commission_feed(), "application/atom+xml")
    for source in FRAMES:
        site.serve(
            f"/{source}.rss", _municipal_feed(site, source), "application/rss+xml"
        )
    # Municipalities first: the original arriving last must still head its story.
    for with_commission in (False, True):
        registry = _registry(site, with_commission)
        runtime.settings.sources_file.write_text(registry, encoding="utf-8")
        runtime.sync_sources()
        asyncio.run(runtime.crawl())
    return runtime


def _feed(url: str) -> feedparser.FeedParserDict:
    response = httpx.get(url)
    assert response.status_code == 200
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return parsed


def test_all_feed_lists_one_story_per_release_credited_to_the_commission(
    portal_url,
):
    parsed = _feed(f"{portal_url}/feeds/all.atom")

    titles = sorted(entry.title for entry in parsed.entries)
    assert titles == sorted(release(name)[0] for name in RELEASES)
    assert {entry.source.title for entry in parsed.entries} == {
        "European Commission – Press corner"
    }
    assert all(entry.link.startswith(PRESSCORNER + "/en/") for entry in parsed.entries)


def test_french_reader_gets_the_french_version_of_the_release(portal_url):
    parsed = _feed(f"{portal_url}/feeds/all.atom?lang=fr")

    assert [(entry.title, entry.link) for entry in parsed.entries] == [
        (release("ip_26_2101_fr.txt")[0], f"{PRESSCORNER}/fr/ip_26_2101")
    ]


def test_english_and_french_versions_are_one_story(crawled):
    from sqlalchemy import select

    from storage.models import Item

    with crawled.sessions() as session:
        rows = session.execute(
            select(Item.url, Item.story_id, Item.source_id, Item.story_role)
        ).all()
    by_url = {url: story for url, story, _, _ in rows}
    assert (
        by_url[f"{PRESSCORNER}/en/ip_26_2101"] == by_url[f"{PRESSCORNER}/fr/ip_26_2101"]
    )
    assert len({story for _, story, _, _ in rows}) == len(RELEASES)
    assert {role for _, _, source, role in rows if source != "commission"} == {"copy"}


def test_a_municipality_feed_still_lists_its_own_copies(portal_url):
    parsed = _feed(f"{portal_url}/feeds/sources/braga.atom")

    assert len(parsed.entries) == len(RELEASES)
    assert {entry.source.title for entry in parsed.entries} == {"Município de Braga"}


def test_the_story_page_lists_the_original_its_versions_and_every_copy(crawled):
    from bs4 import BeautifulSoup
    from fastapi.testclient import TestClient
    from sqlalchemy import select

    from storage.models import Item

    with crawled.sessions() as session:
        story_id = session.scalar(
            select(Item.story_id).where(Item.url == f"{PRESSCORNER}/en/ip_26_2101")
        )
    with TestClient(crawled.web_app()) as client:
        english = BeautifulSoup(client.get(f"/stories/{story_id}").text, "lxml")
        french = BeautifulSoup(client.get(f"/stories/{story_id}?lang=fr").text, "lxml")
        missing = client.get("/stories/999999")

    assert english.h1.get_text() == release("ip_26_2101_en.txt")[0]
    assert english.select_one("a.original")["href"] == f"{PRESSCORNER}/en/ip_26_2101"
    copies = {a.get_text() for a in english.select("#copies + ul a")}
    assert len(copies) == len(FRAMES)
    assert [a["hreflang"] for a in english.select("#versions + ul a")] == ["fr"]
    assert french.h1.get_text() == release("ip_26_2101_fr.txt")[0]
    assert french.select_one("article")["lang"] == "fr"
    assert missing.status_code == 404
