"""/health and /metrics of the web app; a worker refused on SQLite."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request

from click.testing import CliRunner
from fastapi.testclient import TestClient

from aggregator.cli import cli
from aggregator.monitoring import MonitoringServer, database_check
from aggregator.runtime import Runtime
from aggregator.settings import Settings
from tests.conftest import Site


def test_web_app_counts_the_fetches_of_its_process_and_answers_health(
    runtime: Runtime, site: Site
) -> None:
    feed = site.serve_file("/feed.xml", "feeds/rss20.xml", "application/rss+xml")
    runtime.settings.sources_file.write_text(
        f"sources:\n  - id: musterhausen\n    name: Musterhausen\n    kind: feed\n"
        f"    url: {feed}\n    publisher: municipality\n    country: DE\n"
        f"    languages: [de]\n",
        encoding="utf-8",
    )
    runtime.sync_sources()
    summary = asyncio.run(runtime.crawl())

    with TestClient(runtime.web_app()) as client:
        health = client.get("/health")
        metrics = client.get("/metrics").text

    assert health.status_code == 200
    assert health.json() == {"status": "ok", "process": "web", "database": "ok"}
    assert 'aggregator_fetches_total{outcome="ok"} 1.0' in metrics
    assert f'aggregator_items_total{{stage="stored"}} {summary.new_items}.0' in metrics
    assert (
        f'aggregator_items_total{{stage="placed"}} {summary.placed_items}.0' in metrics
    )
    assert "aggregator_fetch_duration_seconds_bucket" in metrics


def test_worker_health_says_503_when_its_database_is_gone() -> None:
    gone = Runtime.build(
        Settings(database_url="postgresql+psycopg://nobody@127.0.0.1:9/none")
    )
    server = MonitoringServer(
        "127.0.0.1", 0, gone.metrics, database_check(gone.sessions)
    )
    server.start()
    try:
        url = f"http://{server.address}/health"
        try:
            urllib.request.urlopen(url, timeout=10)
            raise AssertionError("a worker without its database answered 200")
        except urllib.error.HTTPError as error:
            assert error.code == 503
            assert b'"database": "unreachable"' in error.read()
    finally:
        server.stop()
        gone.close()


def test_worker_refuses_to_start_on_sqlite(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("AGGREGATOR_DATABASE_URL", f"sqlite:///{tmp_path / 'w.db'}")
    assert CliRunner().invoke(cli, ["db", "upgrade"]).exit_code == 0

    result = CliRunner().invoke(cli, ["worker"])

    assert result.exit_code != 0
    assert "a worker needs PostgreSQL" in result.output
