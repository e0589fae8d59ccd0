"""CPU time and memory of this process and its descendants, read from /proc.

Linux only. A process named in ``exclude`` is left out with its own
descendants: the benchmark's server is not the crawler's cost.
"""

from __future__ import annotations

import os
import resource
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def descendants(root: int, exclude: Iterable[int] = ()) -> list[int]:
    """Process ids below ``root`` (not ``root`` itself), minus ``exclude``'s trees."""
    skipped = set(exclude)
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        stat = _stat(int(entry.name))
        if stat is not None:
            children.setdefault(int(stat[1]), []).append(int(entry.name))
    found, queue = [], [root]
    while queue:
        for child in children.get(queue.pop(), []):
            if child not in skipped:
                found.append(child)
                queue.append(child)
    return found


def _stat(pid: int) -> list[str] | None:
    # Fields after the command name, which may hold spaces: state, ppid, ...
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rpartition(")")[2].split()


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of one live process."""
    stat = _stat(pid)
    if stat is None:
        return 0.0
    # utime and stime are fields 14 and 15 of the stat line.
    return (int(stat[11]) + int(stat[12])) / _TICKS


def rss_bytes(pid: int) -> int:
    try:
        pages = Path(f"/proc/{pid}/statm").read_text().split()[1]
    except OSError:
        return 0
    return int(pages) * _PAGE


def pss_bytes(pid: int) -> int:
    """Proportional set size: shared pages split among the processes sharing them."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def role(pid: int) -> str:
    """A short name for a process of the tree: main, fork server or worker."""
    if pid == os.getpid():
        return "main"
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "gone"
    if b"forkserver" in command:
        # The fork server and the workers it forked share its command line.
        parent = _stat(pid)
        return "fork server" if parent and int(parent[1]) == os.getpid() else "worker"
    return command.split(b"\0")[0].decode(errors="replace").rsplit("/", 1)[-1]


@dataclass
class Usage:
    wall_s: float = 0.0
    cpu_s: float = 0.0
    peak_rss: int = 0
    peak_pss: int = 0
    processes: int = 1
    # Each process's PSS and RSS at the moment the PSS sum peaked, by role.
    peak_parts: list[tuple[str, int, int]] = field(default_factory=list)


class TreeMonitor:
    """Samples the memory of this process and its descendants while running.

    ``cpu()`` adds this process's own time, every live descendant's, and what
    finished descendants left in ``RUSAGE_CHILDREN`` (minus ``exclude``'s
    share, which is only counted once it has ended, after the benchmark).
    """

    def __init__(self, exclude: Iterable[int] = (), interval: float = 0.5) -> None:
        self._exclude = list(exclude)
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._tree: list[int] = []
        self.peak_rss = 0
        self.peak_pss = 0
        self.peak_parts: list[tuple[str, int, int]] = []
        self.most_processes = 1

    def cpu(self) -> float:
        own = resource.getrusage(resource.RUSAGE_SELF)
        ended = resource.getrusage(resource.RUSAGE_CHILDREN)
        tree = descendants(os.getpid(), self._exclude)
        return (
            own.ru_utime
            + own.ru_stime
            + ended.ru_utime
            + ended.ru_stime
            + sum(cpu_seconds(pid) for pid in tree)
        )

    def __enter__(self) -> TreeMonitor:
        self.peak_rss = self.peak_pss = 0
        self.peak_parts = []
        self._stop.clear()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._take_sample(rescan=True)

    def _sample(self) -> None:
        rescanned = 0.0
        while not self._stop.wait(self._interval):
            now = time.monotonic()
            # Listing /proc is the costly part; the tree changes rarely.
            self._take_sample(rescan=now - rescanned > 1.0)
            if now - rescanned > 1.0:
                rescanned = now

    def _take_sample(self, rescan: bool) -> None:
        if rescan or not self._tree:
            self._tree = [os.getpid(), *descendants(os.getpid(), self._exclude)]
        self.most_processes = max(self.most_processes, len(self._tree))
        parts = [(role(pid), pss_bytes(pid), rss_bytes(pid)) for pid in self._tree]
        self.peak_rss = max(self.peak_rss, sum(rss for _r, _p, rss in parts))
        pss = sum(pss for _r, pss, _rss in parts)
        if pss > self.peak_pss:
            self.peak_pss, self.peak_parts = pss, parts
