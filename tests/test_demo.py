"""The demo: its sample registry and feeds, crawled as `make demo` does."""

from __future__ import annotations

import asyncio
import socket

from aggregator.demo import HERE, demo_settings, serve_demo_feeds
from aggregator.registry import load_registry
from aggregator.runtime import Runtime
from aggregator.settings import Settings
from extractors.feeds import parse_feed


def test_demo_registry_is_valid_and_points_at_the_demo_server():
    specs = load_registry(HERE / "sources.yaml")

    assert len(specs) == 8
    assert all(spec.url.startswith("http://127.0.0.1:8765/feeds/") for spec in specs)


def test_every_sample_feed_parses_cleanly_with_dated_entries():
    for spec in load_registry(HERE / "sources.yaml"):
        body = (HERE / "feeds" / spec.url.rsplit("/", 1)[1]).read_bytes()

        feed = parse_feed(body, spec.url, {"Content-Type": "application/xml"})

        assert len(feed.entries) >= 6, spec.id
        assert all(entry.published for entry in feed.entries), spec.id
        assert {entry.language for entry in feed.entries} == set(spec.languages)


def test_demo_settings_allow_the_local_server_and_keep_their_own_database(
    monkeypatch,
):
    monkeypatch.delenv("AGGREGATOR_DATABASE_URL", raising=False)

    settings = demo_settings(Settings())

    assert "127.0.0.1" in settings.allow_hosts
    assert settings.database_url == "sqlite:///var/demo.db"


def test_demo_crawl_fills_the_portal_from_the_served_feeds(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    registry = (HERE / "sources.yaml").read_text(encoding="utf-8")
    (tmp_path / "sources.yaml").write_text(
        registry.replace("127.0.0.1:8765", f"127.0.0.1:{port}"), encoding="utf-8"
    )
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'demo.db'}",
        sources_file=tmp_path / "sources.yaml",
        allow_hosts=["127.0.0.1"],
        host_gap_seconds=0,
    )

    with serve_demo_feeds(port):
        runtime = Runtime.build(settings)
        runtime.upgrade()
        runtime.sync_sources()
        summary = asyncio.run(runtime.crawl())
        runtime.close()

    assert (summary.sources, summary.fetched, summary.failed) == (8, 8, 0)
    assert summary.new_items >= 48
