"""A real portal on 127.0.0.1 and Debian's Chromium driven by Playwright.

Browser tests need ``/usr/bin/chromium`` (``apt-get install chromium``, which
``.ci/run`` does). On a developer's machine without it they are skipped with
that reason; under ``CI=true`` a missing browser fails them instead, so CI can
never pass without running them.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).parent.parent / "var" / "test-screenshots"


def require_chromium() -> None:
    if Path(CHROMIUM).exists() and shutil.which("chromium"):
        return
    reason = f"{CHROMIUM} is missing: apt-get install chromium"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serve_app(app: FastAPI) -> Iterator[str]:
    """Serves ``app`` with uvicorn in a thread; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the portal did not start within 10 s")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def chromium_page(locale: str = "en-GB") -> Iterator[object]:
    """A fresh browser page; the browser closes with the block."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True
        )
        try:
            context = browser.new_context(locale=locale)
            yield context.new_page()
        finally:
            browser.close()


def screenshot(page: object, name: str) -> Path:
    """Saves what the reader sees, for a person to look at after the run."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path
