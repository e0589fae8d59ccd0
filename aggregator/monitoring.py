"""/metrics and /health: on the web app, and on a port of each worker.

A health check answers 200 with what it checked, or 503 with why not, so
that a load balancer or an orchestrator stops sending to (or restarts) a
process that lost its database or its worker loop.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from aggregator.metrics import CONTENT_TYPE, Metrics

logger = logging.getLogger(__name__)

# (healthy, what an operator reads about it)
HealthCheck = Callable[[], tuple[bool, dict[str, Any]]]


def database_check(sessions: sessionmaker[Session]) -> HealthCheck:
    """A check that the database answers a trivial query."""

    def check() -> tuple[bool, dict[str, Any]]:
        try:
            with sessions() as session:
                session.execute(text("SELECT 1"))
        except Exception as error:
            return False, {"database": "unreachable", "error": str(error)}
        return True, {"database": "ok"}

    return check


def add_monitoring_routes(app: FastAPI, metrics: Metrics, check: HealthCheck) -> None:
    """/metrics and /health on the web app, outside the API's schema."""

    def serve_metrics() -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    def serve_health() -> JSONResponse:
        healthy, details = check()
        status = "ok" if healthy else "unavailable"
        return JSONResponse(
            {"status": status, "process": "web", **details},
            status_code=200 if healthy else 503,
        )

    app.add_api_route("/metrics", serve_metrics, include_in_schema=False)
    app.add_api_route("/health", serve_health, include_in_schema=False)


class MonitoringServer:
    """A worker's /metrics and /health on their own port, on a thread.

    A worker has no web app; Prometheus and the orchestrator reach it here.
    """

    def __init__(
        self, host: str, port: int, metrics: Metrics, check: HealthCheck
    ) -> None:
        self._server = ThreadingHTTPServer((host, port), _handler(metrics, check))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="monitoring", daemon=True
        )

    @property
    def address(self) -> str:
        host, port = self._server.socket.getsockname()[:2]
        return f"{host}:{port}"

    def start(self) -> None:
        self._thread.start()
        logger.info(
            "Worker metrics and health served",
            extra={"url": f"http://{self.address}/metrics"},
        )

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler(metrics: Metrics, check: HealthCheck) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/metrics":
                self._answer(200, CONTENT_TYPE, metrics.render())
            elif self.path == "/health":
                healthy, details = check()
                status = "ok" if healthy else "unavailable"
                body = json.dumps({"status": status, "process": "worker", **details})
                self._answer(200 if healthy else 503, "application/json", body.encode())
            else:
                self._answer(404, "text/plain", b"not found")

        def _answer(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler
