"""A newcomer's journey in headless Chromium, on news crawled and classified
for real: home, a country, a municipality, a story, the original, a search
that finds the story, the interface in another language, the region's feed.
"""

from __future__ import annotations

import asyncio
from html import escape
from pathlib import Path

import feedparser
import pytest
from browser import chromium_page, screenshot, serve_app
from lxml import etree

from aggregator.regions_import import node_row
from aggregator.runtime import Runtime
from classifiers.gazetteer import read_shipped_nodes
from storage.regions import upsert_regions
from tests.conftest import Site

ATOM_SCHEMA = Path(__file__).parent / "fixtures" / "schemas" / "atom.rng"
# The part of the shipped region tree the journey walks through.
COUNTRIES = ("AT", "SE")
NEWS = [
    ("Die Murinsel wird renoviert",
     "Die Stadt Graz renoviert die Murinsel im Frühjahr. Während der Arbeiten "
     "bleibt der Steg über die Mur gesperrt; die Radwege am Ufer bleiben offen."),
    ("Neue Bücherei in Eggenberg",
     "Im Bezirk Eggenberg öffnet eine neue Stadtbibliothek mit Lesecafé."),
    ("Gemeinderat beschließt Budget",
     "Der Gemeinderat hat das Budget für das kommende Jahr beschlossen."),
]  # fmt: skip
UPPSALA = [
    ("Nya cykelbanor i Uppsala",
     "Uppsala kommun bygger nya cykelbanor längs Fyrisån under våren."),
]  # fmt: skip


def _feed(site: Site, slug: str, news: list[tuple[str, str]], lang: str) -> str:
    items = []
    for day, (title, text) in enumerate(news, 1):
        link = site.url(f"/{slug}/news/{day}")
        site.serve(
            f"/{slug}/news/{day}",
            f"<html lang='{lang}'><title>{escape(title)}</title>"
            f"<h1>{escape(title)}</h1><p>{escape(text)}</p></html>",
            "text/html; charset=utf-8",
        )
        items.append(
            f"<item><title>{escape(title)}</title><link>{link}</link>"
            f"<guid>{link}</guid><pubDate>0{day} Dec 2026 09:00:00 GMT</pubDate>"
            f"<description>{escape(text)}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{slug}</title><link>{site.url('/')}</link>"
        f"<language>{lang}</language>{''.join(items)}</channel></rss>"
    )


def _registry(site: Site) -> str:
    return f"""sources:
  - id: graz
    name: Stadt Graz
    kind: feed
    url: {site.url("/graz.rss")}
    publisher: municipality
    country: AT
    region: AT221
    municipality: "AT/Graz"
    languages: [de]
  - id: uppsala
    name: Uppsala kommun
    kind: feed
    url: {site.url("/uppsala.rss")}
    publisher: municipality
    country: SE
    region: SE121
    municipality: "SE/Uppsala"
    languages: [sv]
"""


@pytest.fixture
def portal(runtime: Runtime, site: Site, classifiers) -> str:
    # The countries' part of the tree that `aggregator regions import` stores.
    shipped, _ = read_shipped_nodes()
    nodes = {node.code: node for node in shipped}
    wanted = {None, *COUNTRIES}
    rows = [
        node_row(node, nodes, "gazetteer") for node in shipped if node.country in wanted
    ]
    with runtime.sessions() as session:
        upsert_regions(session, rows)
        session.commit()

    site.serve("/graz.rss", _feed(site, "graz", NEWS, "de"), "application/rss+xml")
    site.serve(
        "/uppsala.rss", _feed(site, "uppsala", UPPSALA, "sv"), "application/rss+xml"
    )
    runtime.settings.sources_file.write_text(_registry(site), encoding="utf-8")
    runtime.sync_sources()
    asyncio.run(runtime.crawl())
    runtime.place_waiting()
    runtime.classify_waiting()
    return site.url("/graz/news/1")


def test_newcomer_finds_a_town_story_searches_it_and_takes_the_feed(runtime, portal):
    original = portal
    with serve_app(runtime.web_app()) as base, chromium_page("en-GB") as page:
        page.goto(base + "/")
        countries = page.get_by_role("region", name="Countries")
        assert (
            "(3 stories)"
            in countries.get_by_role("listitem").filter(has_text="Austria").inner_text()
        )
        screenshot(page, "journey-home")

        countries.get_by_role("link", name="Austria").click()
        assert page.locator("main h1").inner_text() == "Austria"
        for place in ("Südösterreich", "Steiermark", "Graz", "Graz"):
            page.get_by_role("region", name="Places in").get_by_role(
                "link", name=place, exact=True
            ).first.click()
        assert page.locator("main h1").inner_text() == "Graz"
        municipality = page.url
        assert municipality.endswith("/regions/geo:2778067")
        trail = page.get_by_role("navigation", name="Where this region lies")
        assert trail.get_by_role("link", name="Steiermark").count() == 1
        screenshot(page, "journey-municipality")

        page.locator("main article").filter(has_text="Murinsel").get_by_role(
            "link", name="Story and its copies"
        ).click()
        assert "/stories/" in page.url
        screenshot(page, "journey-story")
        story_url = page.url

        original_link = page.get_by_role("link", name="Read the original at Stadt Graz")
        assert original_link.get_attribute("href") == original
        original_link.click()
        assert page.url == original
        assert page.locator("h1").inner_text() == "Die Murinsel wird renoviert"

        page.goto(story_url)
        search = page.get_by_role("search").first
        search.get_by_role("searchbox").fill("murinsel")
        search.get_by_role("button", name="Search").click()
        results = page.locator("main ol.items article")
        assert results.count() == 1
        assert results.locator("mark").first.inner_text() == "Murinsel"
        screenshot(page, "journey-search")

        page.get_by_role("navigation", name="Interface language").get_by_role(
            "link", name="Deutsch"
        ).click()
        assert page.locator("html").get_attribute("lang") == "de"
        assert "/de/search" in page.url and "q=murinsel" in page.url
        assert page.locator("main ol.items article").count() == 1
        screenshot(page, "journey-search-de")

        page.goto(municipality.replace("/regions/", "/de/regions/"))
        assert page.locator("main h1").inner_text() == "Graz"
        screenshot(page, "journey-municipality-de")
        feed_link = page.locator("main p.feeds").get_by_role("link", name="Atom")
        response = page.request.get(feed_link.get_attribute("href"))
        assert response.status == 200
        body = response.body()

    schema = etree.RelaxNG(etree.parse(str(ATOM_SCHEMA)))
    assert schema.validate(etree.fromstring(body)), schema.error_log
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert {entry.link for entry in parsed.entries} >= {original}
