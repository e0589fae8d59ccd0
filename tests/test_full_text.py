"""Entries labelled and completed on their way into storage: the full text of
short feed entries, the language decided from the text, the canonical URL and
dates the portal cannot trust."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from sqlalchemy import select

from aggregator.runtime import Runtime
from storage.models import Item
from tests.conftest import Site

REGISTRY = """
sources:
  - id: musterstadt
    name: Musterstadt
    kind: feed
    url: {url}
    publisher: municipality
    country: DE
    languages: [de]
"""

ARTICLE = """<!doctype html><html lang="de"><head><title>Stadtbücherei</title>
<link rel="canonical" href="{canonical}"></head><body>
<nav><a href="/">Start</a> <a href="/presse">Presse</a></nav>
<main><article><h1>Die Stadtbücherei verlängert ihre Öffnungszeiten</h1>
<p>Ab dem ersten Dezember öffnet die Stadtbücherei am Marktplatz auch an
Samstagen von zehn bis sechzehn Uhr. Der Gemeinderat hat dafür zwei neue
Stellen bewilligt, die aus dem Haushalt des kommenden Jahres bezahlt werden.</p>
<p>Die Leiterin der Bücherei freut sich über die Entscheidung: Viele Familien
hätten sich längere Öffnungszeiten am Wochenende gewünscht. Auch die
Kinderabteilung wird am Samstag betreut, mit Vorlesestunden um elf Uhr.</p>
</article></main><footer>Stadt Musterstadt, Rathausplatz 1</footer></body></html>
"""

LONG = " ".join(["Der Winterdienst räumt die Straßen der Innenstadt zuerst."] * 12)


def _feed(site: Site, short_summary: str, extra_items: str = "") -> str:
    published = format_datetime(datetime.now(UTC) - timedelta(hours=2))
    return f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Musterstadt</title><language>de</language>
<item><title>Stadtbücherei verlängert Öffnungszeiten</title>
<link>{site.url("/presse/buecherei")}?utm_source=rss&amp;utm_medium=feed</link>
<description>{short_summary}</description><pubDate>{published}</pubDate></item>
<item><title>Winterdienst beginnt in der Innenstadt</title>
<link>{site.url("/presse/winterdienst")}</link>
<description>{LONG}</description><pubDate>{published}</pubDate></item>
{extra_items}</channel></rss>"""


@pytest.fixture
def town(runtime: Runtime, site: Site) -> Runtime:
    runtime.settings.full_text_min_words = 80
    runtime.settings.sources_file.write_text(
        REGISTRY.format(url=site.url("/feed.xml")), encoding="utf-8"
    )
    runtime.sync_sources()
    site.serve(
        "/presse/buecherei",
        ARTICLE.format(canonical=site.url("/presse/buecherei")),
        "text/html; charset=utf-8",
    )
    return runtime


def _crawl(runtime: Runtime):
    runtime.make_all_due()
    return asyncio.run(runtime.crawl())


def _items(runtime: Runtime) -> dict[str, Item]:
    with runtime.sessions() as session:
        return {item.title: item for item in session.scalars(select(Item))}


def test_short_entry_gets_the_full_text_of_its_article_page(town, site):
    site.serve("/feed.xml", _feed(site, "Neue Zeiten ab Dezember."), "text/xml")

    _crawl(town)

    items = _items(town)
    library = items["Stadtbücherei verlängert Öffnungszeiten"]
    assert "Vorlesestunden um elf Uhr" in library.summary
    assert "<p>" in library.content_html
    assert "Rathausplatz" not in library.summary
    # The long entry needed no page; it was not asked for.
    assert site.requests_for("/presse/winterdienst") == []
    assert len(site.requests_for("/presse/buecherei")) == 1


def test_unchanged_entry_is_neither_fetched_again_nor_updated(town, site):
    site.serve("/feed.xml", _feed(site, "Neue Zeiten ab Dezember."), "text/xml")
    _crawl(town)

    summary = _crawl(town)

    assert summary.updated_items == 0
    assert len(site.requests_for("/presse/buecherei")) == 1


def test_entry_edited_by_its_source_is_completed_again(town, site):
    site.serve("/feed.xml", _feed(site, "Neue Zeiten ab Dezember."), "text/xml")
    _crawl(town)
    site.serve("/feed.xml", _feed(site, "Neue Zeiten ab 1. Dezember."), "text/xml")

    summary = _crawl(town)

    assert summary.updated_items == 1
    assert len(site.requests_for("/presse/buecherei")) == 2
    library = _items(town)["Stadtbücherei verlängert Öffnungszeiten"]
    assert "Vorlesestunden um elf Uhr" in library.summary


def test_article_page_that_fails_keeps_the_entry_as_the_feed_gave_it(town, site):
    site.serve("/presse/buecherei", "down", "text/plain", status=503)
    site.serve("/feed.xml", _feed(site, "Neue Zeiten ab Dezember."), "text/xml")

    summary = _crawl(town)

    assert summary.failed == 0
    library = _items(town)["Stadtbücherei verlängert Öffnungszeiten"]
    assert library.summary == "Neue Zeiten ab Dezember."


def test_canonical_url_drops_tracking_parameters(town, site):
    site.serve("/feed.xml", _feed(site, "Neue Zeiten ab Dezember."), "text/xml")

    _crawl(town)

    library = _items(town)["Stadtbücherei verlängert Öffnungszeiten"]
    assert "utm_source" in library.url
    assert library.canonical_url == site.url("/presse/buecherei")


def test_language_is_detected_over_the_feeds_site_default(town, site):
    french = """<item><title>La bibliothèque municipale prolonge ses horaires</title>
<link>https://partner.example/fr/bibliotheque</link>
<description>À partir du premier décembre, la bibliothèque de la place du
marché ouvre aussi le samedi de dix heures à seize heures. Le conseil municipal
a approuvé deux nouveaux postes pour les familles qui le demandaient depuis
longtemps, et la section des enfants proposera des lectures à onze heures.
Les habitants de la ville jumelée sont invités à découvrir les nouveaux
espaces de lecture, les ateliers numériques et les expositions de photos
prévues tout au long de l'hiver dans la salle du premier étage du bâtiment.
</description></item>"""
    site.serve(
        "/feed.xml", _feed(site, LONG, extra_items=french), "application/rss+xml"
    )

    _crawl(town)

    items = _items(town)
    french_item = items["La bibliothèque municipale prolonge ses horaires"]
    assert (french_item.language, french_item.language_method) == ("fr", "detected")
    german = items["Winterdienst beginnt in der Innenstadt"]
    assert (german.language, german.language_method) == ("de", "declared-confirmed")


def test_date_in_the_future_is_clamped_and_noted(town, site):
    future = datetime.now(UTC) + timedelta(days=30)
    item = f"""<item><title>Neujahrsempfang im Rathaus für alle Bürger</title>
<link>https://musterstadt.example/neujahr</link><description>{LONG}</description>
<pubDate>{format_datetime(future)}</pubDate></item>"""
    site.serve("/feed.xml", _feed(site, LONG, extra_items=item), "text/xml")

    _crawl(town)

    stored = _items(town)["Neujahrsempfang im Rathaus für alle Bürger"]
    assert stored.published_at <= datetime.now(UTC)
    assert "in the future" in stored.date_note
