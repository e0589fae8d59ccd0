"""An editor's session in headless Chromium: log in, approve queued items,
feature a story, correct a region, log out; the portal shows each change."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import feedparser
import pytest
from browser import chromium_page, screenshot, serve_app
from sqlalchemy import select

from aggregator.classification import Classifiers
from aggregator.runtime import Runtime
from aggregator.settings import Settings
from extractors.entry import Entry
from publisher.auth import Passwords
from storage.editors import add_editor
from storage.items import save_entries
from storage.models import Item, Source
from storage.sources import sync_sources

PASSWORD = "correct horse battery"
SOURCES = [
    {"id": "wien", "name": "Stadt Wien", "kind": "feed", "url": "https://w.example/rss",
     "publisher": "municipality", "country": "AT", "region": "AT130",
     "languages": ["de"]},
    {"id": "graz", "name": "Stadt Graz", "kind": "feed", "url": "https://g.example/rss",
     "publisher": "municipality", "country": "AT", "region": "AT221",
     "languages": ["de"]},
]  # fmt: skip
TITLES = {
    "wien": ["Wien baut die Straßenbahn aus", "Neue Buslinie in Wien"],
    "graz": ["Graz verlängert die Tramlinie", "Graz plant neue Radwege"],
}


@pytest.fixture(scope="module")
def portal(
    tmp_path_factory: pytest.TempPathFactory, classifiers: Classifiers
) -> Iterator[tuple[str, Runtime]]:
    folder = tmp_path_factory.mktemp("editors")
    settings = Settings(
        database_url=f"sqlite:///{folder / 'portal.db'}",
        sources_file=folder / "sources.yaml",
    )
    runtime = Runtime.build(settings, classifiers=classifiers)
    runtime.upgrade()
    now = datetime.now(UTC)
    with runtime.sessions() as session:
        sync_sources(session, SOURCES, now)
        session.get(Source, "graz").trust = "new"
        for source_id, titles in TITLES.items():
            entries = [
                Entry(
                    title=title, link=f"https://{source_id}.example/{n}",
                    language="de", published=now - timedelta(hours=n + 1),
                    summary=f"Der öffentliche Verkehr in {source_id} wächst ({n}).",
                )
                for n, title in enumerate(titles)
            ]  # fmt: skip
            save_entries(session, source_id, entries, now)
        add_editor(
            session, "ed@town.example", Passwords().hash(PASSWORD), "editor", now
        )
        session.commit()
    runtime.place_waiting()
    runtime.classify_waiting()

    with serve_app(runtime.web_app()) as base_url:
        yield base_url, runtime
    runtime.close()


def _item(runtime: Runtime, title: str) -> Item:
    with runtime.sessions() as session:
        return session.scalar(select(Item).where(Item.title == title))


def _titles(page: Any) -> list[str]:
    return page.locator("main article h2 a").all_inner_texts()


def test_an_editor_approves_features_moves_and_logs_out(portal):
    base, runtime = portal
    tram = _item(runtime, TITLES["wien"][0])
    bus = _item(runtime, TITLES["wien"][1])

    with chromium_page("en-GB") as page:
        page.goto(base + "/editor/review")
        page.get_by_label("E-mail address").fill("ed@town.example")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        assert page.locator("main h1").inner_text() == "Review queue"
        assert sorted(page.locator("ol.queue strong").all_inner_texts()) == sorted(
            TITLES["graz"]
        )
        assert "AT221" in page.locator("ol.queue dl.why").first.inner_text()
        screenshot(page, "editor-review-queue")

        for checkbox in page.locator("ol.queue input[type=checkbox]").all():
            checkbox.check()
        page.get_by_role("button", name="Approve the chosen items").click()
        assert page.locator("main p.empty").inner_text() == "No items wait for review."
        page.goto(base + "/")
        assert set(TITLES["graz"]) <= set(_titles(page))
        screenshot(page, "editor-approved-on-home")

        page.goto(f"{base}/editor/stories/{bus.story_id}")
        page.get_by_label("Where: home, or a region code").fill("home")
        page.get_by_role("button", name="Feature this story").click()
        page.goto(base + "/")
        featured = page.locator("section.featured li a")
        assert featured.all_inner_texts() == [bus.title]
        screenshot(page, "editor-featured-on-home")

        page.goto(f"{base}/editor/items/{tram.id}")
        page.get_by_label("Region codes, separated by spaces").fill("AT221")
        page.get_by_role("button", name="Save the regions").click()
        assert "AT221 (editor" in page.locator("dl.why").inner_text()
        page.goto(base + "/regions/AT221")
        assert tram.title in _titles(page)
        screenshot(page, "editor-region-corrected")
        page.goto(base + "/regions/AT130")
        assert tram.title not in _titles(page)
        feed = page.request.get(base + "/feeds/regions/AT221.atom")
        assert tram.title in {e.title for e in feedparser.parse(feed.body()).entries}

        page.goto(base + "/editor/")
        page.get_by_role("button", name="Log out ed@town.example").click()
        assert page.url.rstrip("/") == base
        page.goto(base + "/editor/review")
        assert "/editor/login" in page.url
        screenshot(page, "editor-logged-out")
