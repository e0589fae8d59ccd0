"""A newcomer's journey through the portal in headless Chromium.

The portal is filled the way `make demo` fills it: the sample feeds are
served on 127.0.0.1 and crawled into a fresh SQLite database.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import feedparser
import pytest
from browser import chromium_page, free_port, screenshot, serve_app

from aggregator.demo import HERE, serve_demo_feeds
from aggregator.runtime import Runtime
from aggregator.settings import Settings


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("browser")
    port = free_port()
    registry = (HERE / "sources.yaml").read_text(encoding="utf-8")
    (folder / "sources.yaml").write_text(
        registry.replace("127.0.0.1:8765", f"127.0.0.1:{port}"), encoding="utf-8"
    )
    settings = Settings(
        database_url=f"sqlite:///{folder / 'portal.db'}",
        sources_file=folder / "sources.yaml",
        allow_hosts=["127.0.0.1"],
        host_gap_seconds=0,
        full_text_min_words=0,
    )
    runtime = Runtime.build(settings)
    runtime.upgrade()
    runtime.sync_sources()
    with serve_demo_feeds(port):
        asyncio.run(runtime.crawl())

    with serve_app(runtime.web_app()) as base_url:
        yield base_url
    runtime.close()


def test_newcomer_reads_the_news_switches_language_and_takes_a_feed(portal):
    with chromium_page("en-GB") as page:
        page.goto(portal + "/")
        assert page.locator("html").get_attribute("lang") == "en"
        assert page.locator("main h1").inner_text() == "Latest news"
        assert page.locator("main article").count() == 30
        first = page.locator("main article h2 a").first
        assert first.get_attribute("href").startswith("http://127.0.0.1:")
        screenshot(page, "home-en")

        page.get_by_role("link", name="Older news").click()
        assert page.locator("main article").count() >= 10
        assert "before=" in page.url

        page.get_by_role("navigation", name="Interface language").get_by_role(
            "link", name="Deutsch"
        ).click()
        assert page.locator("html").get_attribute("lang") == "de"
        assert "/de/" in page.url
        screenshot(page, "home-de")

        page.get_by_role("navigation", name="Hauptmenü").get_by_role(
            "link", name="Quellen"
        ).click()
        assert page.locator("main h1").inner_text() == "Quellen"
        assert page.locator("table.sources tbody tr").count() == 8
        screenshot(page, "sources-de")

        feed_link = page.get_by_role("link", name="Atom-Feed von Stadt Wien (sample)")
        feed = page.request.get(feed_link.get_attribute("href"))
        parsed = feedparser.parse(feed.body())
        assert not parsed.bozo, parsed.get("bozo_exception")
        assert parsed.entries
        assert {entry.source.title for entry in parsed.entries} == {
            "Stadt Wien (sample)"
        }


def test_browser_language_chooses_the_interface(portal):
    with chromium_page("fr-FR") as page:
        page.goto(portal + "/sources")

        assert page.locator("html").get_attribute("lang") == "fr"
        assert page.locator("main h1").inner_text() == "Sources"
        assert page.get_by_role("link", name="Dernières actualités").count() == 1
        screenshot(page, "sources-fr")


def test_keyboard_reaches_the_content_first(portal):
    with chromium_page() as page:
        page.goto(portal + "/")

        page.keyboard.press("Tab")
        skip = page.locator(":focus")
        assert skip.inner_text() == "Skip to content"
        skip.press("Enter")
        assert page.evaluate("document.activeElement.id") == "content"
