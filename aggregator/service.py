"""Long-running processes: the web app alone, or everything in one process."""

from __future__ import annotations

import logging

import uvicorn

from aggregator.digest_scheduler import DigestScheduler
from aggregator.runtime import Runtime
from aggregator.scheduler import CrawlScheduler

logger = logging.getLogger(__name__)


def serve_web(runtime: Runtime) -> None:
    """Serve the portal with uvicorn until interrupted."""
    settings = runtime.settings
    config = uvicorn.Config(
        runtime.web_app(),
        host=settings.listen_host,
        port=settings.listen_port,
        log_config=None,
        access_log=False,
        proxy_headers=True,
    )
    logger.info("Portal listening", extra={"url": f"http://{settings.listen}/"})
    try:
        uvicorn.Server(config).run()
    except KeyboardInterrupt:
        # uvicorn re-raises the Ctrl-C it already handled; stopping on
        # request is a clean exit, not an error.
        logger.info("Stopped on request")


def run_all(runtime: Runtime, sync: bool = True) -> None:
    """Upgrade the schema, sync the registry, crawl now and on schedule, serve."""
    runtime.upgrade()
    if sync:
        runtime.sync_sources()

    scheduler = CrawlScheduler(
        runtime.crawl, runtime.settings.tick_seconds, first_run=runtime.clock.now()
    )
    scheduler.start()
    digests = _digest_scheduler(runtime)
    try:
        serve_web(runtime)
    finally:
        scheduler.shutdown()
        if digests is not None:
            digests.shutdown()


def _digest_scheduler(runtime: Runtime) -> DigestScheduler | None:
    """Digests on schedule, once the signed links they carry can be made."""
    if not runtime.settings.secret_key:
        logger.warning("E-mail digests are off: set AGGREGATOR_SECRET_KEY to send them")
        return None
    from aggregator.digests import digest_run

    def send(frequency: str) -> None:
        digest_run(runtime).run(frequency)

    scheduler = DigestScheduler(send, runtime.settings, start_at=runtime.clock.now())
    scheduler.start()
    return scheduler
