"""Press releases and sources shared by the dedup and story tests."""

from __future__ import annotations

from datetime import UTC, datetime

from aggregator.dedup import assign_stories
from aggregator.runtime import Runtime
from extractors.entry import Entry
from storage.items import save_entries
from storage.sources import sync_sources
from tests.conftest import FIXTURES

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
SOURCES = [
    {"id": "commission", "name": "European Commission – Press corner",
     "kind": "feed", "url": "https://ec.example/rss", "publisher": "eu_institution",
     "languages": ["en", "fr"]},
    {"id": "torun", "name": "Urząd Miasta Toruń", "kind": "feed",
     "url": "https://torun.example/rss", "publisher": "municipality",
     "country": "PL", "languages": ["en"]},
    {"id": "braga", "name": "Município de Braga", "kind": "feed",
     "url": "https://braga.example/rss", "publisher": "municipality",
     "country": "PT", "languages": ["en"]},
]  # fmt: skip


def release(name: str) -> tuple[str, str]:
    """(title, body) of a release under tests/fixtures/releases."""
    path = FIXTURES / "releases" / name
    title, _, body = path.read_text(encoding="utf-8").partition("\n")
    return title, body


def add_sources(runtime: Runtime) -> Runtime:
    with runtime.sessions() as session:
        sync_sources(session, SOURCES, NOW)
        session.commit()
    return runtime


def store(runtime: Runtime, source: str, entries: list[Entry]) -> None:
    """Save a source's entries and place them in stories, as a crawl does."""
    with runtime.sessions() as session:
        save_entries(session, source, entries, NOW)
        assign_stories(session, source, runtime.settings, NOW)
        session.commit()
