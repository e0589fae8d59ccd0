"""An SMTP server on 127.0.0.1 that counts what it accepts (aiosmtpd).

Run as its own process by ``benchmarks/digest.py``, so that its CPU is not
the sender's: ``python benchmarks/smtpsink.py PORT``. It prints ``ready``
once listening and, on SIGTERM, one JSON line with the messages, bytes and
recipients it accepted.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from typing import Any

from aiosmtpd.controller import Controller


class Counter:
    def __init__(self) -> None:
        self.messages = 0
        self.bytes = 0
        self.recipients: set[str] = set()
        self.duplicates = 0

    async def handle_DATA(  # noqa: N802 (aiosmtpd's hook name)
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        self.messages += 1
        self.bytes += len(envelope.content)
        for recipient in envelope.rcpt_tos:
            if recipient in self.recipients:
                self.duplicates += 1
            self.recipients.add(recipient)
        return "250 OK"


def main() -> None:
    port = int(sys.argv[1])
    counter = Counter()
    controller = Controller(counter, hostname="127.0.0.1", port=port)
    controller.start()
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    print("ready", flush=True)
    stopped.wait()
    controller.stop()
    report = {
        "messages": counter.messages,
        "bytes": counter.bytes,
        "recipients": len(counter.recipients),
        "duplicates": counter.duplicates,
    }
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
