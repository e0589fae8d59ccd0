"""Many small municipal feeds on 127.0.0.1 for the worker tests, each fetch
counted with its time.

Each feed holds one item: its own, or a copy of a release that several
feeds republish at once (some word for word, some under a line of their
own), so that copies of one release reach different workers at the same
moment. Every item's guid says which release it copies, if any.
"""

from __future__ import annotations

import random
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_VOCABULARY = (
    "council budget street school library bridge river tram station market "
    "museum park square harbour festival water energy housing transport bicycle "
    "lane repair works residents meeting mayor decision grant funding project "
    "summer winter autumn spring citizens office hall service waste recycling "
    "district village road safety children sport culture theatre concert "
    "exhibition hospital clinic nurses teachers students university research "
    "climate heat trees garden flowers youth seniors pension tax fee permit "
    "parking bus night day week month year new old public private local "
    "regional national european commission programme plan strategy report "
    "survey vote election candidate opening closing extension renovation"
)
WORDS = _VOCABULARY.split(" ")


@dataclass(frozen=True)
class FeedItem:
    guid: str
    release: int | None  # the shared release it copies, or None: its own


@dataclass
class FeedSet:
    """Feeds under ``/{name}/``: their bodies and what each must store."""

    name: str
    bodies: dict[str, bytes] = field(default_factory=dict)
    items: dict[str, list[FeedItem]] = field(default_factory=dict)

    def path(self, number: int) -> str:
        return f"/{self.name}/{number}.xml"


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def build_feeds(
    name: str, feeds: int, releases: int, copies: int, seed: int
) -> FeedSet:
    """``feeds`` feeds of one item each: the first ``releases * copies``
    carry a copy of one of ``releases`` shared releases (``copies`` feeds
    each, neighbours carrying different ones), the others an item of their
    own."""
    rng = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    shared = [
        (f"{_text(rng, 6)} ({name} {number})", _text(rng, 40))
        for number in range(releases)
    ]
    feed_set = FeedSet(name)
    for number in range(feeds):
        if number < releases * copies:
            release: int | None = number % releases
            title, text = shared[number % releases]
            if number % 2:
                text = f"Published for the residents of town {number}: {text}"
            guid = f"urn:test:{name}:{number}:release-{release}"
        else:
            release = None
            title = f"{_text(rng, 5)} ({name} feed {number})"
            text = _text(rng, 35)
            guid = f"urn:test:{name}:{number}:own"
        item = FeedItem(guid, release)
        link = f"/{name}/{number}/{guid.rsplit(':', 1)[1]}"
        feed_set.bodies[feed_set.path(number)] = _rss([(title, text, link, item)], now)
        feed_set.items[feed_set.path(number)] = [item]
    return feed_set


def _rss(entries: list[tuple[str, str, str, FeedItem]], now: datetime) -> bytes:
    items = []
    for hours, (title, text, link, item) in enumerate(entries, 1):
        published = format_datetime(now - timedelta(hours=hours))
        items.append(
            f"<item><title>{escape(title)}</title>"
            f"<link>http://town.example{link}</link>"
            f'<guid isPermaLink="false">{item.guid}</guid>'
            f"<pubDate>{published}</pubDate>"
            f"<description>{escape(text)}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        "<title>Town news</title><link>http://town.example/</link>"
        "<description>News</description><language>en</language>"
        f"{''.join(items)}</channel></rss>"
    ).encode()


class _Server(ThreadingHTTPServer):
    # Dozens of crawlers connect at once; the default backlog of 5 would
    # drop their connections and leave them waiting for retransmissions.
    request_queue_size = 256

    def handle_error(self, request: object, client_address: object) -> None:
        # A killed worker's connections are reset: expected, not worth a trace.
        pass


class FeedWeb:
    """Serves feed sets on 127.0.0.1, each answer ``latency`` seconds late."""

    def __init__(self, latency: float = 0.05) -> None:
        self.latency = latency
        self.bodies: dict[str, bytes] = {}
        self._fetches: dict[str, list[float]] = defaultdict(list)
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def add(self, feed_set: FeedSet) -> None:
        self.bodies.update(feed_set.bodies)

    def fetches(self, path: str) -> list[float]:
        """When ``path`` was asked for (time.time()), in order."""
        with self._lock:
            return list(self._fetches.get(path, ()))

    def fetched(self, paths: list[str]) -> int:
        """How many of ``paths`` were asked for at least once."""
        with self._lock:
            return sum(1 for path in paths if self._fetches.get(path))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        web = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                with web._lock:
                    web._fetches[self.path].append(time.time())
                time.sleep(web.latency)
                body = web.bodies.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler
