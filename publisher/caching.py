"""ETag, Last-Modified and Cache-Control on every feed, page and API answer.

Validators are built from what the database says changed last (one small
query, see storage/changes.py), the address asked for, the interface locale
and the deployed code, never from the rendered body; so a conditional request
is answered 304 Not Modified before any rendering, and a full answer for a
known ETag is replayed from memory. Conditional requests follow RFC 9110
section 13: If-None-Match wins over If-Modified-Since and is compared weakly.
Editor pages carry ``private, no-store`` and no validator.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

import anyio.to_thread
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from publisher.context import PortalConfig
from storage.changes import change_mark

NO_STORE = "private, no-store"
# A rendered answer larger than this is sent but not kept in memory.
_LARGEST_KEPT = 2_000_000


@dataclass(frozen=True)
class Kind:
    """How one kind of answer is cached, and what its validator depends on."""

    name: str
    cache_control: str
    # The crawler's fetches and the clock: the sources page's health.
    health: bool = False
    # The region tree: names, breadcrumbs and children of region pages.
    regions: bool = False


@dataclass(frozen=True)
class Kinds:
    feed: Kind
    region_feed: Kind
    page: Kind
    region_page: Kind
    health_page: Kind
    answer: Kind
    health_answer: Kind

    @classmethod
    def of(cls, config: PortalConfig) -> Kinds:
        feeds = f"public, max-age={config.feed_max_age}"
        answers = f"public, max-age={config.page_max_age}"
        # A page is asked again each time it is shown (a 304 costs little):
        # an editor who features a story, or a reader back from the story,
        # sees the page as it is now, not as the browser kept it.
        pages = "public, no-cache"
        return cls(
            feed=Kind("feed", feeds),
            region_feed=Kind("feed", feeds, regions=True),
            page=Kind("page", pages),
            region_page=Kind("page", pages, regions=True),
            health_page=Kind("health", pages, health=True),
            answer=Kind("page", answers),
            health_answer=Kind("health", answers, health=True),
        )

    def of_path(self, path: str) -> Kind | None:
        """The kind of answer at ``path`` (without its locale prefix); None
        for what is not the portal's to validate (static files, which carry
        their own, the health check, WebSub callbacks, and the pages of one
        registrant or subscriber, which change with their own actions)."""
        if path.startswith(_NOT_VALIDATED) or path == "/healthz":
            return None
        if path.startswith("/feeds/regions/"):
            return self.region_feed
        if path.startswith("/feeds/") or path == "/sources.opml":
            return self.feed
        if path.startswith("/api/v1/sources"):
            return self.health_answer
        if path.startswith("/api/"):
            return self.answer
        if path == "/sources":
            return self.health_page
        if path.startswith("/regions/"):
            return self.region_page
        return self.page


_NOT_VALIDATED = (
    "/static/",
    "/websub/",
    "/editor",
    "/register",
    "/api/v1/registrations",
    "/subscribe",
    "/subscriptions",
)


@dataclass(frozen=True)
class Validators:
    etag: str
    last_modified: datetime | None
    cache_control: str

    def headers(self) -> list[tuple[bytes, bytes]]:
        found = [
            (b"etag", self.etag.encode("ascii")),
            (b"cache-control", self.cache_control.encode("ascii")),
        ]
        if self.last_modified is not None:
            date = format_datetime(self.last_modified, usegmt=True)
            found.append((b"last-modified", date.encode("ascii")))
        return found


def entity_tag(parts: Iterable[object]) -> str:
    """A weak ETag: the same bytes are not promised (gzip or not), the same
    content is."""
    digest = hashlib.blake2b(repr(tuple(parts)).encode(), digest_size=12)
    return f'W/"{digest.hexdigest()}"'


def matches_any(if_none_match: str, etag: str) -> bool:
    """Whether a tag of the If-None-Match list equals ``etag`` by weak
    comparison (RFC 9110 section 8.8.3.2: the W/ prefixes are ignored)."""
    wanted = _opaque(etag)
    return any(_opaque(tag) == wanted for tag in if_none_match.split(","))


def is_unmodified_since(if_modified_since: str, last_modified: datetime | None) -> bool:
    """Whether nothing changed after the If-Modified-Since date; an invalid
    date is ignored, as RFC 9110 section 13.1.3 asks."""
    if last_modified is None:
        return False
    try:
        since = parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError):
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    # HTTP dates have whole seconds.
    return last_modified.replace(microsecond=0) <= since


def deploy_version(config: PortalConfig, folders: Iterable[Path]) -> str:
    """What changes every validator when the code, templates, translations or
    settings that shape an answer change: the same on every replica."""
    digest = hashlib.blake2b(digest_size=12)
    try:
        release = importlib.metadata.version("municipal-news-aggregator")
    except importlib.metadata.PackageNotFoundError:
        release = "source"  # run from a checkout without installing
    digest.update(release.encode())
    digest.update(repr(config).encode())
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and path.suffix != ".mo":
                digest.update(str(path.relative_to(folder)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


class ResponseCache:
    """Rendered answers by ETag and encoding, the least recently used dropped.

    Only answers whose ETag is current are ever asked for, so an entry never
    needs to be invalidated: a change makes a new ETag and the old entry ages
    out.
    """

    def __init__(self, entries: int) -> None:
        self.entries = entries
        self._kept: OrderedDict[tuple[str, bool], tuple[Message, bytes]] = OrderedDict()

    def get(self, key: tuple[str, bool]) -> tuple[Message, bytes] | None:
        found = self._kept.get(key)
        if found is not None:
            self._kept.move_to_end(key)
        return found

    def put(self, key: tuple[str, bool], start: Message, body: bytes) -> None:
        if self.entries <= 0 or len(body) > _LARGEST_KEPT:
            return
        self._kept[key] = (start, body)
        self._kept.move_to_end(key)
        while len(self._kept) > self.entries:
            self._kept.popitem(last=False)


class ConditionalMiddleware:
    """Adds validators and Cache-Control, answers 304, replays known answers.

    Sits inside the locale middleware, which has chosen the locale, and
    outside gzip, so that kept answers are kept compressed.
    """

    def __init__(
        self,
        app: ASGIApp,
        sessions: sessionmaker[Session],
        config: PortalConfig,
        version: str,
        now: Callable[[], datetime],
    ) -> None:
        self.app = app
        engine = sessions.kw["bind"]
        assert isinstance(engine, Engine)
        self.engine = engine
        # SQLite answers the query from a local file in microseconds, less
        # than handing it to a thread costs; a database server is waited for
        # in a thread, so that the event loop serves others meanwhile.
        self.inline = engine.dialect.name == "sqlite"
        self.kinds = Kinds.of(config)
        self.page_max_age = config.page_max_age
        self.version = version
        self.now = now
        self.cache = ResponseCache(config.response_cache_entries)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        route_path = state.get("route_path", scope["path"])
        if route_path.startswith("/editor"):
            await self.app(scope, receive, _with_cache_control(send, NO_STORE))
            return
        kind = self.kinds.of_path(route_path)
        if kind is None or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return

        request = Headers(scope=scope)
        if self.inline:
            validators = self._validators(scope, kind, request)
        else:
            validators = await anyio.to_thread.run_sync(
                self._validators, scope, kind, request
            )
        if_none_match = request.get("if-none-match")
        if_modified_since = request.get("if-modified-since")
        if if_none_match is not None and if_none_match.strip() != "*":
            if matches_any(if_none_match, validators.etag):
                await _not_modified(send, validators)
                return
            if_modified_since = None

        # "*" and If-Modified-Since only hold for an answer that exists: known
        # here, or rendered once and then answered 304.
        unmodified = (if_none_match or "").strip() == "*" or (
            if_modified_since is not None
            and is_unmodified_since(if_modified_since, validators.last_modified)
        )
        key = (validators.etag, "gzip" in request.get("accept-encoding", ""))
        kept = self.cache.get(key)
        if kept is not None and unmodified:
            await _not_modified(send, validators)
        elif kept is not None:
            await _replay(send, *kept)
        else:
            await self._render(scope, receive, send, validators, key, unmodified)

    def _validators(self, scope: Scope, kind: Kind, request: Headers) -> Validators:
        with self.engine.connect() as connection:
            mark = change_mark(connection, kind.health, kind.regions, self.now())
        last_modified = mark.last_modified
        moment: object = None
        if kind.health:
            # Health is told relative to now ("next fetch in 5 min"): the page
            # changes with the clock, one step per max-age.
            step = max(self.page_max_age, 1)
            stamp = int(self.now().timestamp()) // step * step
            moment = stamp
            refreshed = datetime.fromtimestamp(stamp, UTC)
            last_modified = max(last_modified or refreshed, refreshed)
        etag = entity_tag(
            (
                self.version,
                kind.name,
                scope.get("scheme"),
                request.get("host"),
                scope.get("root_path"),
                scope["path"],
                scope.get("query_string"),
                scope["state"].get("locale"),
                mark.parts,
                moment,
            )
        )
        return Validators(etag, last_modified, kind.cache_control)

    async def _render(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        validators: Validators,
        key: tuple[str, bool],
        unmodified: bool,
    ) -> None:
        start: Message = {}
        body = bytearray()

        async def collect(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            body.extend(message.get("body", b""))
            if message.get("more_body", False):
                return
            # Limitation: the whole answer is held before it is sent, so a
            # streamed answer is not streamed; the portal's are all small.
            headers = MutableHeaders(scope=start)
            if not _is_shareable(start["status"], headers):
                await send(start)
                await send({"type": "http.response.body", "body": bytes(body)})
                return
            for name, value in validators.headers():
                headers[name.decode()] = value.decode()
            self.cache.put(key, start, bytes(body))
            if unmodified:
                await _not_modified(send, validators)
                return
            await _replay(send, start, bytes(body))

        await self.app(scope, receive, collect)


def _is_shareable(status: int, headers: MutableHeaders) -> bool:
    """An answer that sets a cookie or says itself how to cache is left as
    the route made it."""
    return (
        status == 200
        and "set-cookie" not in headers
        and ("cache-control" not in headers)
    )


async def _not_modified(send: Send, validators: Validators) -> None:
    # RFC 9110 section 15.4.5: a 304 carries the validators, Cache-Control
    # and Vary the full answer would have carried.
    headers = [*validators.headers(), (b"vary", b"Accept-Encoding")]
    await send({"type": "http.response.start", "status": 304, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


async def _replay(send: Send, start: Message, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": start["status"],
            "headers": list(start["headers"]),
        }
    )
    await send({"type": "http.response.body", "body": body})


def _with_cache_control(send: Send, value: str) -> Send:
    async def send_private(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            headers.setdefault("cache-control", value)
        await send(message)

    return send_private


def _opaque(tag: str) -> str:
    tag = tag.strip()
    return tag[2:] if tag.startswith("W/") else tag
