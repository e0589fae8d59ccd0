"""Which network addresses the crawler may connect to.

The check runs inside the connection itself: the crawler's HTTP transport
resolves the host, refuses every non-public address that the operator did not
allow, and connects to an address it has just checked. A name that resolves
to a public address for a check and to a private one for the connection (DNS
rebinding), or a redirect to an internal host, meets the same rule.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Iterable
from urllib.parse import urlsplit

import certifi
import httpcore
import httpx

from aggregator.errors import FetchError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class AddressGuard:
    """Allows public addresses, and private ones only when listed."""

    def __init__(self, allow: Iterable[str]) -> None:
        self._names: set[str] = set()
        self._networks: list[Network] = []
        for rule in allow:
            try:
                self._networks.append(ipaddress.ip_network(rule, strict=False))
            except ValueError:
                self._names.add(rule.lower().rstrip("."))

    def allows(self, host: str, address: Address) -> bool:
        if address.is_global and not address.is_multicast:
            return True
        if host.lower().rstrip(".") in self._names:
            return True
        return any(address in network for network in self._networks)


async def check_host(guard: AddressGuard, url: str) -> None:
    """Raise ``FetchError`` unless the host of ``url`` resolves to an address
    the guard allows: a website that is named but not fetched meets the rule
    all the same."""
    host = urlsplit(url).hostname or ""
    addresses = await _resolve(host, 0)
    if not any(guard.allows(host, address) for address in addresses):
        raise FetchError(
            "refused_address",
            f"{host} resolves to the non-public address {addresses[0]}",
            url=url,
        )


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """A network backend that connects only to addresses the guard allows."""

    def __init__(self, guard: AddressGuard) -> None:
        self._guard = guard
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await _resolve(host, port)
        allowed = [a for a in addresses if self._guard.allows(host, a)]
        if not allowed:
            raise FetchError(
                "refused_address",
                f"{host} resolves to the non-public address {addresses[0]}; "
                "add it to AGGREGATOR_ALLOW_HOSTS to crawl it",
                url=f"//{host}:{port}",
            )

        error: Exception | None = None
        for address in allowed:
            try:
                return await self._inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as failure:
                error = failure
        assert error is not None
        raise error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise FetchError("refused_address", "unix sockets are never crawled", url=path)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


async def _resolve(host: str, port: int) -> list[Address]:
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM
        )
    except socket.gaierror as error:
        raise FetchError(
            "dns", f"cannot resolve {host}: {error.strerror}", url=f"//{host}"
        ) from error
    seen: dict[Address, None] = {}
    for info in infos:
        # An IPv6 address may carry a zone (fe80::1%eth0); the zone is no part
        # of the address that the rules compare.
        seen[ipaddress.ip_address(str(info[4][0]).split("%")[0])] = None
    return list(seen)


def guarded_transport(
    guard: AddressGuard, limits: httpx.Limits
) -> httpx.AsyncHTTPTransport:
    """An httpx transport whose every connection passes the guard.

    httpx builds its connection pool without a way to pass a network backend,
    so the pool is replaced by one built the same way with the guarded backend.
    """
    transport = httpx.AsyncHTTPTransport(limits=limits, trust_env=False)
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=ssl.create_default_context(cafile=certifi.where()),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=GuardedBackend(guard),
    )
    return transport
