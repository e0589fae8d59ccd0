"""Sample feeds served on 127.0.0.1, so the portal fills without internet."""

from __future__ import annotations

import functools
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from aggregator.settings import Settings

logger = logging.getLogger(__name__)

HERE = Path(__file__).parent
DEMO_PORT = 8765


class _FeedHandler(SimpleHTTPRequestHandler):
    extensions_map = {  # noqa: RUF012 (the base class declares it so)
        ".rss": "application/rss+xml",
        ".atom": "application/atom+xml",
        ".rdf": "application/rdf+xml",
        ".xml": "application/xml",
    }

    def log_message(self, format: str, *args: object) -> None:
        logger.debug("Demo feed served", extra={"request": format % args})


@contextmanager
def serve_demo_feeds(port: int = DEMO_PORT) -> Iterator[str]:
    """Serve the sample feeds at http://127.0.0.1:PORT/feeds/ while in use.

    The sample registry names port 8765; another port serves the same files
    for tests that need a free one.
    """
    handler = functools.partial(_FeedHandler, directory=str(HERE))
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}/feeds/"
    finally:
        server.shutdown()
        server.server_close()


def demo_settings(settings: Settings) -> Settings:
    """The operator's settings, pointed at the sample feeds.

    The demo keeps its own database unless one is set explicitly, so that it
    never mixes sample items into a real portal's.
    """
    updates: dict[str, object] = {
        "sources_file": HERE / "sources.yaml",
        "allow_hosts": [*settings.allow_hosts, "127.0.0.1"],
        # The sample server is the demo's own: no need to spare it.
        "host_gap_seconds": 0.0,
        # The sample stories have no article pages behind them.
        "full_text_min_words": 0,
    }
    if "AGGREGATOR_DATABASE_URL" not in os.environ:
        updates["database_url"] = "sqlite:///var/demo.db"
    return settings.model_copy(update=updates)
