"""Fetching a source's bytes over HTTP: one pooled client, bounded and careful."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import ssl
import time
from dataclasses import dataclass

import httpx

from aggregator.errors import FetchError
from aggregator.settings import Settings

logger = logging.getLogger(__name__)

MAX_REDIRECTS = 5
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

    @property
    def not_modified(self) -> bool:
        return self.status == 304


class Crawler:
    """Fetches URLs with timeouts, a body cap, a redirect cap and address rules.

    One instance holds one connection pool for a whole crawl; close it with
    ``aclose`` or use it as an async context manager.
    """

    def __init__(
        self, settings: Settings, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._settings = settings
        self._allowed = _parse_allow_rules(settings.allow_hosts)
        self._limit = asyncio.Semaphore(settings.max_concurrency)
        timeout = httpx.Timeout(
            settings.fetch_timeout_seconds,
            connect=min(10.0, settings.fetch_timeout_seconds),
        )
        self._client = httpx.AsyncClient(
            transport=transport,
            timeout=timeout,
            follow_redirects=True,
            max_redirects=MAX_REDIRECTS,
            headers={"User-Agent": settings.user_agent, "Accept": ACCEPT},
            limits=httpx.Limits(
                max_connections=settings.max_concurrency,
                max_keepalive_connections=min(16, settings.max_concurrency),
            ),
            event_hooks={"request": [self._check_request]},
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

        Raises ``FetchError`` with a ``kind`` for every way a fetch can fail,
        including an HTTP error status.
        """
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified

        started = time.monotonic()
        async with self._limit:
            try:
                result = await asyncio.wait_for(
                    self._get(url, headers), self._settings.fetch_timeout_seconds
                )
            except TimeoutError as error:
                raise FetchError(
                    "timeout",
                    f"no complete answer within "
                    f"{self._settings.fetch_timeout_seconds:g} s",
                    url=url,
                ) from error
        elapsed_ms = int((time.monotonic() - started) * 1000)
        status, final_url, response_headers, body = result

        if status >= 400:
            raise FetchError(
                "http_status",
                f"the server answered HTTP {status}",
                url=url,
                status=status,
            )
        return FetchResult(final_url, status, response_headers, body, elapsed_ms)

    async def _get(
        self, url: str, headers: dict[str, str]
    ) -> tuple[int, str, dict[str, str], bytes]:
        try:
            async with self._client.stream("GET", url, headers=headers) as response:
                body = b""
                if response.status_code < 300:
                    body = await self._read_capped(response, url)
                return (
                    response.status_code,
                    str(response.url),
                    dict(response.headers),
                    body,
                )
        except FetchError:
            raise
        except httpx.TooManyRedirects as error:
            raise FetchError(
                "redirects", f"more than {MAX_REDIRECTS} redirects", url=url
            ) from error
        except httpx.TimeoutException as error:
            raise FetchError(
                "timeout", f"timed out ({type(error).__name__})", url=url
            ) from error
        except httpx.UnsupportedProtocol as error:
            raise FetchError(
                "bad_url", "only http and https are fetched", url=url
            ) from error
        except httpx.InvalidURL as error:
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
        if (
            declared.isdigit()
            and int(declared) > cap
            and not response.headers.get("Content-Encoding")
        ):
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

    async def _check_request(self, request: httpx.Request) -> None:
        # Runs for the first request and for every redirect it follows.
        url = str(request.url)
        if request.url.scheme not in ("http", "https"):
            raise FetchError("bad_url", "only http and https are fetched", url=url)
        host = request.url.host
        port = request.url.port or (443 if request.url.scheme == "https" else 80)
        await self._check_host(host, port, url)

    async def _check_host(self, host: str, port: int, url: str) -> None:
        # Limitation: the address checked here comes from a lookup of its own,
        # not from the connection, so a host that re-resolves to a private
        # address between the two (DNS rebinding) is not yet refused.
        if self._is_allowed_name(host):
            return
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except socket.gaierror as error:
            raise FetchError(
                "dns", f"cannot resolve {host}: {error.strerror}", url=url
            ) from error
        for info in infos:
            address = ipaddress.ip_address(info[4][0])
            if not address.is_global and not self._is_allowed_address(address):
                raise FetchError(
                    "refused_address",
                    f"{host} resolves to the non-public address {address}; "
                    "add it to AGGREGATOR_ALLOW_HOSTS to crawl it",
                    url=url,
                )

    def _is_allowed_name(self, host: str) -> bool:
        return host.lower() in self._allowed[0]

    def _is_allowed_address(
        self, address: ipaddress.IPv4Address | ipaddress.IPv6Address
    ) -> bool:
        return any(address in network for network in self._allowed[1])


def _parse_allow_rules(
    rules: list[str],
) -> tuple[set[str], list[ipaddress.IPv4Network | ipaddress.IPv6Network]]:
    names: set[str] = set()
    networks = []
    for rule in rules:
        try:
            networks.append(ipaddress.ip_network(rule, strict=False))
        except ValueError:
            names.add(rule.lower())
    return names, networks


def _transport_error(error: httpx.TransportError, url: str) -> FetchError:
    cause = error.__context__ or error.__cause__
    text = str(error) or type(error).__name__
    if isinstance(cause, ssl.SSLError) or "SSL" in text or "CERTIFICATE" in text:
        return FetchError("tls", f"TLS failed: {text}", url=url)
    if isinstance(cause, socket.gaierror) or "Name or service not known" in text:
        return FetchError("dns", f"cannot resolve the host: {text}", url=url)
    return FetchError("connection", f"connection failed: {text}", url=url)
