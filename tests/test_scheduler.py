"""The periodic tick, and `aggregator run` as an operator starts it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime

import httpx

from aggregator.digest_scheduler import DigestScheduler
from aggregator.scheduler import CrawlScheduler
from aggregator.settings import Settings
from tests.conftest import Site


def test_scheduler_crawls_at_start_and_again_after_a_failed_run():
    calls: list[float] = []
    done = threading.Event()

    async def crawl() -> None:
        calls.append(time.monotonic())
        if len(calls) == 1:
            raise RuntimeError("database went away")
        done.set()

    scheduler = CrawlScheduler(crawl, tick_seconds=1, first_run=datetime.now(UTC))
    scheduler.start()
    try:
        assert done.wait(timeout=10)
    finally:
        scheduler.shutdown()

    assert len(calls) >= 2


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_run_upgrades_syncs_crawls_and_serves(tmp_path, site: Site):
    feed = site.serve_file("/feed.xml", "feeds/atom10.xml", "application/atom+xml")
    (tmp_path / "sources.yaml").write_text(
        f"""
sources:
  - id: ville-exemple
    name: Ville d'Exemple
    kind: feed
    url: {feed}
    publisher: municipality
    country: FR
    languages: [fr]
""",
        encoding="utf-8",
    )
    port = _free_port()
    env = {
        **os.environ,
        "AGGREGATOR_DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}",
        "AGGREGATOR_SOURCES_FILE": str(tmp_path / "sources.yaml"),
        "AGGREGATOR_ALLOW_HOSTS": "127.0.0.1",
        "AGGREGATOR_LISTEN": f"127.0.0.1:{port}",
        "AGGREGATOR_HOST_GAP_SECONDS": "0",
    }
    process = subprocess.Popen(
        [sys.executable, "-c", "from aggregator.cli import main; main()", "run"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        titles = _wait_for_items(f"http://127.0.0.1:{port}/feeds/all.json")
    finally:
        process.send_signal(signal.SIGINT)
        _, errors = process.communicate(timeout=20)

    assert sorted(titles) == [
        "Consultation publique sur le plan local d'urbanisme",
        "Le marché de Noël ouvre le 27 novembre",
    ]
    assert process.returncode == 0, errors.decode()
    assert b"Crawl finished" in errors


def _wait_for_items(url: str) -> list[str]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            items = httpx.get(url, timeout=2).json()["items"]
        except (httpx.HTTPError, ValueError):
            items = []
        if items:
            return [item["title"] for item in items]
        time.sleep(0.2)
    raise AssertionError(f"no items appeared at {url} within 30 s")


def test_digests_run_at_start_to_catch_up_then_daily_and_weekly_at_local_time():
    sent: list[str] = []
    both = threading.Event()

    def send(frequency: str) -> None:
        sent.append(frequency)
        if len(sent) == 2:
            both.set()

    settings = Settings(
        digest_timezone="Europe/Vienna",
        digest_daily_time="06:30",
        digest_weekly_day="fri",
    )
    scheduler = DigestScheduler(send, settings, start_at=datetime.now(UTC))
    scheduler.start()
    try:
        assert both.wait(timeout=10)
        runs = scheduler.next_runs()
    finally:
        scheduler.shutdown()

    assert sent == ["daily", "weekly"]
    daily, weekly = runs["digest-daily"], runs["digest-weekly"]
    assert (daily.hour, daily.minute, str(daily.tzinfo)) == (6, 30, "Europe/Vienna")
    assert (weekly.weekday(), weekly.hour) == (4, 6)
