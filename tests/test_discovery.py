"""Tests for extractors.discovery: the feeds a homepage advertises."""

from __future__ import annotations

from extractors.discovery import DiscoveredFeed, discover_feeds

URL = "https://www.gemeinde.example.eu/start/index.html"

HOMEPAGE = b"""<!doctype html><html lang="de"><head>
<meta charset="utf-8"><title>Gemeinde Beispielhausen</title>
<link rel="alternate" type="application/rss+xml" title="Aktuelles"
      href="/aktuelles/rss.xml">
<link rel="alternate" type="application/atom+xml; charset=utf-8"
      title="Veranstaltungen" href="https://www.gemeinde.example.eu/events.atom">
<link rel="ALTERNATE" type="application/feed+json" href="feed.json">
<link rel="alternate" hreflang="en" href="/en/">
<link rel="stylesheet" type="text/css" href="/style.css">
<link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
</head><body>
<nav><a href="/aktuelles">Aktuelles</a> <a href="/kontakt">Kontakt</a></nav>
<main>
  <p>Unsere Nachrichten gibt es auch als <a href="/aktuelles/rss.xml">RSS-Feed</a>
  und als <a href="/amtsblatt/feed/">Feed des Amtsblatts</a>.</p>
  <p><a href="/index.php?type=rss&amp;id=12">Pressemitteilungen abonnieren</a></p>
  <p><a href="/sitemap.xml">Sitemap</a> <a href="/feedback">Feedback</a>
  <a href="/downloads/haushalt.pdf">Haushaltsplan</a>
  <a href="/nachrichten.atom#neu">Nachrichten</a></p>
</main></body></html>"""


def test_discover_feeds_lists_declared_feeds_first_with_absolute_urls_and_titles():
    feeds = discover_feeds(HOMEPAGE, URL)

    assert [f for f in feeds if f.advertised] == [
        DiscoveredFeed(
            "https://www.gemeinde.example.eu/aktuelles/rss.xml",
            "Aktuelles",
            "application/rss+xml",
        ),
        DiscoveredFeed(
            "https://www.gemeinde.example.eu/events.atom",
            "Veranstaltungen",
            "application/atom+xml",
        ),
        DiscoveredFeed(
            "https://www.gemeinde.example.eu/start/feed.json",
            "",
            "application/feed+json",
        ),
    ]
    assert feeds[:3] == [f for f in feeds if f.advertised]


def test_discover_feeds_adds_links_that_look_like_feeds_once_each():
    linked = [f for f in discover_feeds(HOMEPAGE, URL) if not f.advertised]

    assert [(f.url, f.title) for f in linked] == [
        ("https://www.gemeinde.example.eu/amtsblatt/feed/", "Feed des Amtsblatts"),
        (
            "https://www.gemeinde.example.eu/index.php?type=rss&id=12",
            "Pressemitteilungen abonnieren",
        ),
        ("https://www.gemeinde.example.eu/nachrichten.atom", "Nachrichten"),
    ]


def test_discover_feeds_finds_nothing_on_a_page_without_feeds():
    page = b"""<html><body><a href="/kontakt">Kontakt</a>
      <a href="/sitemap.xml">Sitemap</a></body></html>"""

    assert discover_feeds(page, URL) == []


def test_discover_feeds_resolves_against_base_href_and_decodes_the_charset():
    page = """<html><head><meta charset="iso-8859-2">
      <base href="https://cdn.example.eu/w/">
      <link rel="alternate" type="application/rss+xml" title="Aktualności gminy"
            href="rss/aktualnosci.xml"></head><body></body></html>""".encode(
        "iso-8859-2"
    )

    assert discover_feeds(page, URL) == [
        DiscoveredFeed(
            "https://cdn.example.eu/w/rss/aktualnosci.xml",
            "Aktualności gminy",
            "application/rss+xml",
        )
    ]
