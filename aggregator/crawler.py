"""Fetching a source's bytes over HTTP: one pooled client, polite and careful.

Every fetch passes, in order: the scheme check, robots.txt of the host, the
host's politeness gate, the address guard inside the connection, and the
limits on time, size and redirects. Each way to fail is a ``FetchError``
with a ``kind`` the source's health records.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from aggregator.addresses import AddressGuard, guarded_transport
from aggregator.errors import FetchError
from aggregator.politeness import HostGate, SharedHosts
from aggregator.robots import RobotsCache, RobotsStore
from aggregator.settings import Settings

logger = logging.getLogger(__name__)

MAX_REDIRECTS = 5
REDIRECTS = {301, 302, 303, 307, 308}
PERMANENT = {301, 308}
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml, "
    "application/xml;q=0.9, text/xml;q=0.9, text/html;q=0.8, */*;q=0.5"
)


@dataclass(frozen=True)
class FetchResult:
    """What a server answered: status, headers and the (capped) body."""

    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    elapsed_ms: int
    # The last address of a chain of permanent redirects, when every hop of
    # the chain was permanent; the source may move there.
    moved_to: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


class Crawler:
    """Fetches URLs for a whole crawl: one connection pool, shared limits.

    Close it with ``aclose`` or use it as an async context manager.
    """

    def __init__(
        self,
        settings: Settings,
        transport: httpx.AsyncBaseTransport | None = None,
        robots: RobotsStore | None = None,
        shared_hosts: SharedHosts | None = None,
    ) -> None:
        self._settings = settings
        self._gate = HostGate(
            settings.host_concurrency,
            settings.host_gap_seconds,
            in_flight=settings.max_concurrency,
            shared=shared_hosts,
        )
        self._robots = RobotsCache(
            self._fetch_robots, settings.robots_cache_seconds, store=robots
        )
        limits = httpx.Limits(
            max_connections=settings.max_concurrency,
            # Every pooled connection is re-checked on each request, so a
            # large idle pool costs CPU on every fetch.
            max_keepalive_connections=min(16, settings.max_concurrency),
        )
        self._client = httpx.AsyncClient(
            transport=transport
            or guarded_transport(AddressGuard(settings.allow_hosts), limits),
            timeout=httpx.Timeout(
                settings.fetch_timeout_seconds,
                connect=min(10.0, settings.fetch_timeout_seconds),
            ),
            follow_redirects=False,
            headers={"User-Agent": settings.user_agent, "Accept": ACCEPT},
        )

    async def __aenter__(self) -> Crawler:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def fetch(
        self, url: str, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """GET ``url``, conditionally when validators are known.

        Raises ``FetchError`` for every way a fetch can fail, an HTTP error
        status included (with ``retry_after`` where the server gave one).
        """
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified

        started = time.monotonic()
        try:
            (
                status,
                final_url,
                response_headers,
                body,
                moved_to,
            ) = await asyncio.wait_for(
                self._follow(url, headers),
                self._settings.fetch_timeout_seconds,
            )
        except TimeoutError as error:
            raise FetchError(
                "timeout",
                f"no complete answer within {self._settings.fetch_timeout_seconds:g} s",
                url=url,
            ) from error
        elapsed_ms = int((time.monotonic() - started) * 1000)

        if status >= 400:
            raise FetchError(
                "http_status",
                f"the server answered HTTP {status}",
                url=url,
                status=status,
                headers=response_headers,
            )
        return FetchResult(
            final_url, status, response_headers, body, elapsed_ms, moved_to
        )

    async def post_form(self, url: str, form: Mapping[str, str]) -> tuple[int, bytes]:
        """POST ``form`` to ``url`` (a WebSub hub); return the status and body.

        The scheme check, the politeness gate, the address guard and the
        limits on time and size apply as to any fetch. robots.txt does not:
        it governs crawling, and a hub named in a feed is a service its
        publisher invites subscribers to call. 307 and 308 are followed, the
        redirects that keep the method and body (RFC 9110 15.4).
        """
        started = time.monotonic()
        try:
            return await asyncio.wait_for(
                self._post_following(url, form),
                self._settings.fetch_timeout_seconds,
            )
        except TimeoutError as error:
            elapsed = time.monotonic() - started
            raise FetchError(
                "timeout", f"no complete answer within {elapsed:.0f} s", url=url
            ) from error

    async def _post_following(
        self, url: str, form: Mapping[str, str]
    ) -> tuple[int, bytes]:
        seen = {url}
        for _hop in range(MAX_REDIRECTS + 1):
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise FetchError("bad_url", "only http(s) addresses are used", url=url)
            async with self._gate.slot(parts.hostname):
                status, headers, body = await self._request(
                    url, {}, read_errors=True, form=form
                )
            location = headers.get("location", "").strip()
            if status not in (307, 308) or not location:
                return status, body

            url = urljoin(url, location)
            if url in seen:
                raise FetchError("redirects", f"redirect loop back to {url}", url=url)
            seen.add(url)
        raise FetchError("redirects", f"more than {MAX_REDIRECTS} redirects", url=url)

    async def _follow(
        self, url: str, headers: dict[str, str]
    ) -> tuple[int, str, dict[str, str], bytes, str | None]:
        # Redirects are followed here rather than by httpx, so that each hop
        # meets robots.txt, the politeness gate and the loop check.
        seen = {url}
        permanent = True
        for _hop in range(MAX_REDIRECTS + 1):
            status, response_headers, body = await self._get(url, headers)
            if status not in REDIRECTS:
                moved_to = url if permanent and len(seen) > 1 else None
                return status, url, response_headers, body, moved_to

            location = response_headers.get("location", "")
            if not location:
                raise FetchError(
                    "http_status", f"HTTP {status} without a Location", url=url
                )
            permanent = permanent and status in PERMANENT
            url = urljoin(url, location.strip())
            if url in seen:
                raise FetchError("redirects", f"redirect loop back to {url}", url=url)
            seen.add(url)
        raise FetchError("redirects", f"more than {MAX_REDIRECTS} redirects", url=url)

    async def _get(
        self, url: str, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError("bad_url", "only http(s) addresses are fetched", url=url)

        origin = f"{parts.scheme}://{parts.netloc.lower()}"
        rules = await self._robots.rules_for(origin)
        if not rules.allows(url, self._settings.user_agent):
            raise FetchError(
                "robots",
                rules.unreachable or "robots.txt of the site disallows this address",
                url=url,
            )

        delay = rules.crawl_delay(self._settings.user_agent)
        async with self._gate.slot(parts.hostname, delay):
            return await self._request(url, headers)

    async def _fetch_robots(self, url: str) -> tuple[int, bytes]:
        host = urlsplit(url).hostname or ""
        async with self._gate.slot(host):
            status, _headers, body = await self._request(url, {}, read_errors=True)
        return status, body

    async def _request(
        self,
        url: str,
        headers: dict[str, str],
        read_errors: bool = False,
        form: Mapping[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        method = "GET" if form is None else "POST"
        try:
            async with self._client.stream(
                method, url, headers=headers, data=form
            ) as response:
                body = b""
                if response.status_code < 300 or read_errors:
                    body = await self._read_capped(response, url)
                return response.status_code, dict(response.headers), body
        except FetchError as error:
            if error.url.startswith("//"):
                # Raised inside the connection, which knows only the host.
                raise FetchError(error.kind, str(error), url=url) from error
            raise
        except httpx.TimeoutException as error:
            raise FetchError(
                "timeout", f"timed out ({type(error).__name__})", url=url
            ) from error
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as error:
            raise FetchError(
                "bad_url", f"not a valid address: {error}", url=url
            ) from error
        except httpx.DecodingError as error:
            raise FetchError(
                "connection", f"undecodable body: {error}", url=url
            ) from error
        except httpx.TransportError as error:
            raise _transport_error(error, url) from error

    async def _read_capped(self, response: httpx.Response, url: str) -> bytes:
        # The cap applies to decompressed bytes, so a small gzip bomb is
        # stopped as soon as it grows past the limit.
        cap = self._settings.max_body_bytes
        declared = response.headers.get("Content-Length", "")
        encoded = response.headers.get("Content-Encoding", "identity") != "identity"
        if declared.isdigit() and int(declared) > cap and not encoded:
            raise FetchError(
                "too_large", f"body of {declared} bytes exceeds {cap}", url=url
            )

        chunks = bytearray()
        async for chunk in response.aiter_bytes():
            chunks.extend(chunk)
            if len(chunks) > cap:
                raise FetchError(
                    "too_large", f"body exceeds the cap of {cap} bytes", url=url
                )
        return bytes(chunks)


def _transport_error(error: httpx.TransportError, url: str) -> FetchError:
    cause = error.__context__ or error.__cause__
    text = str(error) or type(error).__name__
    if isinstance(cause, ssl.SSLError) or "SSL" in text or "CERTIFICATE" in text:
        return FetchError("tls", f"TLS failed: {text}", url=url)
    return FetchError("connection", f"connection failed: {text}", url=url)
