"""Shared fixtures: a real HTTP server on 127.0.0.1 and both databases."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from aggregator.classification import Classifiers
from aggregator.runtime import Runtime
from aggregator.settings import Settings

FIXTURES = Path(__file__).parent / "fixtures"
POSTGRES_ENV = "AGGREGATOR_TEST_POSTGRES_URL"


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    # A body sent piece by piece, without a length, for slow or endless answers.
    stream: Callable[[], Iterator[bytes]] | None = None


class SetClock:
    """A clock that stays where a test sets it."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment


class Site:
    """What the test HTTP server answers, path by path; tests change it freely."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.replies: dict[str, Reply] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        # Bodies of POST requests, by path, in arrival order.
        self.posts: list[tuple[str, bytes]] = []

    def url(self, path: str) -> str:
        return self.base_url + path

    def serve(
        self, path: str, body: bytes | str, content_type: str = "application/xml",
        status: int = 200, headers: dict[str, str] | None = None,
    ) -> str:  # fmt: skip
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.replies[path] = Reply(
            status, {"Content-Type": content_type, **(headers or {})}, data
        )
        return self.url(path)

    def serve_file(self, path: str, name: str, content_type: str) -> str:
        return self.serve(path, (FIXTURES / name).read_bytes(), content_type)

    def serve_stream(
        self, path: str, stream: Callable[[], Iterator[bytes]], content_type: str
    ) -> str:
        self.replies[path] = Reply(200, {"Content-Type": content_type}, b"", stream)
        return self.url(path)

    def requests_for(self, path: str) -> list[dict[str, str]]:
        return [headers for seen, headers in self.requests if seen == path]


def _handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            site.requests.append((self.path, dict(self.headers)))
            reply = site.replies.get(self.path, Reply(404, {}, b"not found"))
            if reply.stream is not None:
                self._send_stream(reply)
                return

            etag = reply.headers.get("ETag")
            if etag and self.headers.get("If-None-Match") == etag:
                reply = Reply(304, {"ETag": etag})
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if "Content-Length" not in reply.headers:
                self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            site.posts.append((self.path, self.rfile.read(length)))
            site.requests.append((self.path, dict(self.headers)))
            reply = site.replies.get(self.path, Reply(404, {}, b"not found"))
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        def _send_stream(self, reply: Reply) -> None:
            assert reply.stream is not None
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            try:
                for chunk in reply.stream():
                    self.wfile.write(chunk)
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the crawler hung up, as it should on a hostile answer

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def site() -> Iterator[Site]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(Site("")))
    host, port = server.server_address[:2]
    site = Site(f"http://{host}:{port}")
    server.RequestHandlerClass = _handler(site)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield site
    server.shutdown()
    server.server_close()


def _postgres_url() -> str | None:
    return os.environ.get(POSTGRES_ENV)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped afterwards."""
    url = _postgres_url()
    if not url:
        pytest.skip(f"{POSTGRES_ENV} is not set; PostgreSQL tests skipped")
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    name = f"aggregator_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each test that uses it runs on SQLite and, where configured, PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'aggregator.db'}"
        return

    url = request.getfixturevalue("postgres_server")
    yield url
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        allow_hosts=["127.0.0.1"],
        sources_file=tmp_path / "sources.yaml",
        base_url="http://portal.test",
        fetch_timeout_seconds=10,
        host_gap_seconds=0,
        # Fixture feeds link to pages nobody serves; tests of the full text
        # turn it on with pages of their own.
        full_text_min_words=0,
    )


@pytest.fixture(scope="session")
def classifiers() -> Classifiers:
    """The region tree and topic rules, loaded once for the whole run."""
    return Classifiers.load()


@pytest.fixture
def runtime(settings: Settings, classifiers: Classifiers) -> Iterator[Runtime]:
    runtime = Runtime.build(settings, classifiers=classifiers)
    runtime.upgrade()
    yield runtime
    runtime.close()
