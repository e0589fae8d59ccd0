"""The web of municipal feeds that ``crawl.py`` crawls, served on loopback.

Run as its own process (``python -m benchmarks.feedserver``), so that its CPU
is not the crawler's. It listens on one port of ``--hosts`` loopback
addresses from 127.0.1.1 on, never anything but 127.0.0.0/8, and serves each
address's share of ``--feeds`` feeds with its robots.txt. Every answer waits
``--latency`` seconds first, like a small municipal server across Europe.
One feed in a hundred answers HTTP 500 and one in a hundred is broken XML.
ETag and Last-Modified are sent and honoured, so an unchanged feed costs a
304. It prints ``ready PORT`` when listening and stops by itself: when its
standard input closes (its parent is gone), or after ``--lifetime`` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import hashlib
import json
import os
import random
import socket
import sys
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.samples import LANGUAGES, make_feed

LAST_MODIFIED = "Sun, 01 Nov 2026 08:00:00 GMT"
ROBOTS = b"User-agent: *\nDisallow: /private/\n"
# Bounds on one connection, so that no client can keep the server busy forever.
MAX_REQUESTS_PER_CONNECTION = 10_000
IDLE_SECONDS = 30.0
MAX_HEADER_BYTES = 16_384


@dataclass(frozen=True)
class Reply:
    status: int
    content_type: str
    body: bytes
    etag: str = ""


def host_address(index: int) -> str:
    """The loopback address of host ``index`` (0-based): 127.0.1.1, 127.0.1.2..."""
    return f"127.0.{1 + index // 250}.{1 + index % 250}"


def feed_path(feed: int) -> str:
    return f"/feeds/{feed}.xml"


def feed_url(feed: int, hosts: int, port: int) -> str:
    return f"http://{host_address(feed % hosts)}:{port}{feed_path(feed)}"


def is_failing(feed: int) -> bool:
    return feed % 100 == 37


def is_malformed(feed: int) -> bool:
    return feed % 100 == 71


def build_site(
    feeds: int, hosts: int, port: int, seed: int
) -> dict[tuple[str, str], Reply]:
    """Every answer the server gives, by (address, path)."""
    rng = random.Random(seed)
    replies: dict[tuple[str, str], Reply] = {}
    for host in range(hosts):
        replies[(host_address(host), "/robots.txt")] = Reply(200, "text/plain", ROBOTS)

    for feed in range(feeds):
        address = host_address(feed % hosts)
        url = feed_url(feed, hosts, port)
        language = LANGUAGES[feed % len(LANGUAGES)]
        atom = feed % 3 == 0
        body, _stories = make_feed(
            rng,
            url,
            f"http://{address}:{port}/news/{feed}",
            rng.randint(10_000, 36_000),
            language,
            atom,
        )
        if is_malformed(feed):
            # A CMS that cut its output short and left a bare ampersand:
            # the entries before the break can still be salvaged.
            body = body[: len(body) * 2 // 3] + b" & </"
        content_type = "application/atom+xml" if atom else "application/rss+xml"
        status = 500 if is_failing(feed) else 200
        if status == 500:
            body, content_type = b"Internal Server Error", "text/plain"
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        replies[(address, feed_path(feed))] = Reply(status, content_type, body, etag)
    return replies


class FeedServer:
    def __init__(self, replies: dict[tuple[str, str], Reply], latency: float) -> None:
        self._replies = replies
        self._latency = latency
        self.counts: Counter[str] = Counter()

    async def handle(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        address = writer.get_extra_info("sockname")[0]
        try:
            for _ in range(MAX_REQUESTS_PER_CONNECTION):
                request = await asyncio.wait_for(_read_head(reader), IDLE_SECONDS)
                if request is None:
                    break
                path, headers = request
                await asyncio.sleep(self._latency)
                writer.write(self._answer(address, path, headers))
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    break
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    def _answer(self, address: str, path: str, headers: dict[str, str]) -> bytes:
        if path == "/-/stats":
            body = json.dumps(self.counts).encode()
            return _response(200, "application/json", body)

        reply = self._replies.get((address, path))
        if reply is None:
            self.counts["404"] += 1
            return _response(404, "text/plain", b"not found")
        if reply.status == 200 and _is_unchanged(reply, headers):
            self.counts["304"] += 1
            return _response(304, "", b"", reply.etag)
        self.counts["robots" if path == "/robots.txt" else str(reply.status)] += 1
        return _response(reply.status, reply.content_type, reply.body, reply.etag)


def _is_unchanged(reply: Reply, headers: dict[str, str]) -> bool:
    if "if-none-match" in headers:
        return headers["if-none-match"] == reply.etag
    return headers.get("if-modified-since") == LAST_MODIFIED


async def _read_head(reader: asyncio.StreamReader) -> tuple[str, dict[str, str]] | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    except asyncio.LimitOverrunError:
        return None
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or parts[0] not in ("GET", "HEAD"):
        return None
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name:
            headers[name.strip().lower()] = value.strip()
    return parts[1], headers


def _response(status: int, content_type: str, body: bytes, etag: str = "") -> bytes:
    reason = {200: "OK", 304: "Not Modified", 404: "Not Found"}.get(status, "Error")
    lines = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(body)}"]
    if content_type:
        lines.append(f"Content-Type: {content_type}; charset=utf-8")
    if etag:
        lines += [f"ETag: {etag}", f"Last-Modified: {LAST_MODIFIED}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _free_port(addresses: list[str]) -> list[socket.socket]:
    """Sockets on one port free on every address, found by trying a few."""
    for _attempt in range(20):
        first = socket.socket()
        first.bind((addresses[0], 0))
        port = first.getsockname()[1]
        sockets = [first]
        try:
            for address in addresses[1:]:
                sock = socket.socket()
                sockets.append(sock)
                sock.bind((address, port))
        except OSError as error:
            for sock in sockets:
                sock.close()
            if error.errno != errno.EADDRINUSE:
                raise
            continue
        return sockets
    raise RuntimeError("no port is free on every loopback address")


async def serve(args: argparse.Namespace) -> None:
    addresses = [host_address(host) for host in range(args.hosts)]
    sockets = _free_port(addresses)
    port = sockets[0].getsockname()[1]
    server = FeedServer(
        build_site(args.feeds, args.hosts, port, args.seed), args.latency
    )
    servers = []
    for sock in sockets:
        sock.listen(1024)
        servers.append(await asyncio.start_server(server.handle, sock=sock))
    print(f"ready {port}", flush=True)

    loop = asyncio.get_running_loop()
    parent_gone = asyncio.Event()

    def watch_stdin() -> None:
        # The descriptor, not sys.stdin: a daemon thread still blocked in
        # stdin's buffer when the lifetime runs out holds the buffer's lock,
        # and the interpreter aborts over it on the way out.
        while os.read(sys.stdin.fileno(), 4096):
            pass
        loop.call_soon_threadsafe(parent_gone.set)

    threading.Thread(target=watch_stdin, daemon=True).start()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(parent_gone.wait(), args.lifetime)
    for running in servers:
        running.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--lifetime", type=float, default=900.0)
    args = parser.parse_args()
    if not 1 <= args.hosts <= 60_000:
        parser.error("--hosts must be between 1 and 60000")
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
