"""Concurrent HTTP/1.1 clients for the serving benchmark, in a process of their own.

Each phase keeps ``--clients`` keep-alive connections asking for one URL, with
an ``If-None-Match`` when the phase names an ETag, for ``--seconds``. The
client speaks plain HTTP/1.1 on asyncio (uvloop when installed) and reads
bodies without decompressing them, so that it takes as little of the shared
cores from the server as it can. Only the standard library and
``benchmarks/measure.py`` are imported, so the process starts at once.

Prints one JSON list: per phase, answers, seconds, p50 and p99 latency,
statuses, and the server's CPU seconds over the phase (``--server-pid``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.measure import cpu_seconds


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=5.0, help="per phase")
    parser.add_argument("--server-pid", type=int, default=0)
    parser.add_argument(
        "phases", nargs="+", help='JSON ["name", "http://host:port/path", "etag"]'
    )
    return parser.parse_args(argv)


async def keep_asking(
    host: str, port: int, request: bytes, deadline: float, samples: list[Any]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            await read_body(reader, head.lower())
            samples.append((int(head[9:12]), time.perf_counter() - started))
    finally:
        writer.close()


async def read_body(reader: asyncio.StreamReader, head: bytes) -> None:
    if b"content-length:" in head:
        length = int(head.split(b"content-length:")[1].split(b"\r\n")[0])
        await reader.readexactly(length)
    elif b"transfer-encoding: chunked" in head:
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                return


async def phase(
    name: str, url: str, etag: str, args: argparse.Namespace
) -> dict[str, Any]:
    address, _, path = url.removeprefix("http://").partition("/")
    host, _, port = address.partition(":")
    lines = [
        f"GET /{path} HTTP/1.1", f"Host: {address}", "Accept-Encoding: gzip",
        "User-Agent: serve-benchmark",
    ]  # fmt: skip
    if etag:
        lines.append(f"If-None-Match: {etag}")
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()

    samples: list[tuple[int, float]] = []
    cpu_before = cpu_seconds(args.server_pid) if args.server_pid else 0.0
    started = time.perf_counter()
    deadline = started + args.seconds
    await asyncio.gather(
        *(
            keep_asking(host, int(port), request, deadline, samples)
            for _ in range(args.clients)
        )
    )
    elapsed = time.perf_counter() - started
    server_cpu = cpu_seconds(args.server_pid) - cpu_before if args.server_pid else 0.0

    latencies = sorted(seconds for _, seconds in samples)
    statuses: dict[str, int] = {}
    for status, _ in samples:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    return {
        "name": name,
        "answers": len(samples),
        "seconds": elapsed,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "statuses": statuses,
        "server_cpu_s": server_cpu,
    }


def percentile(values: list[float], rank: int) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[rank - 1]


async def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    results = []
    for asked in args.phases:
        name, url, etag = json.loads(asked)
        results.append(await phase(name, url, etag, args))
    return results


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass  # asyncio's own loop: slower, the figures still comparable
    print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
