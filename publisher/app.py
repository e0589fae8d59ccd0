"""The web app, built by one factory from plain values the conductor hands in."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session, sessionmaker

from publisher import (
    api,
    browse_views,
    editor_views,
    feed_views,
    pages,
    subscribe_views,
    websub_views,
)
from publisher.context import PortalConfig, PortalContext
from publisher.feeds import install_filters
from publisher.i18n import Catalogues, LocaleMiddleware, install_i18n

HERE = Path(__file__).parent


def create_app(
    config: PortalConfig,
    sessions: sessionmaker[Session],
    on_push: websub_views.PushIngest | None = None,
    now: Callable[[], datetime] | None = None,
    subscription_mail: subscribe_views.SubscriptionMail | None = None,
) -> FastAPI:
    """The portal: pages, feeds and static files.

    With ``on_push``, also the WebSub callback, which hands it every validly
    signed push as (source id, body, headers). Without ``subscription_mail``
    the subscription pages say that e-mail subscriptions are not available.
    """
    catalogues = Catalogues.load()
    templates = Jinja2Templates(directory=HERE / "templates")
    install_filters(templates.env)
    install_i18n(templates.env, catalogues)
    templates.env.globals["site_title"] = config.site_title

    app = FastAPI(
        title=f"{config.site_title} API",
        version="1",
        description="Items and sources of the portal, newest first.",
        docs_url=None,
        redoc_url=None,
        openapi_url=f"{api.PREFIX}/openapi.json",
    )
    app.state.portal = PortalContext(
        config, sessions, templates, now or (lambda: datetime.now(UTC))
    )
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(pages.router, include_in_schema=False)
    app.include_router(feed_views.router, include_in_schema=False)
    app.include_router(browse_views.router, include_in_schema=False)
    app.include_router(subscribe_views.router, include_in_schema=False)
    app.state.subscription_mail = subscription_mail
    app.include_router(api.router)
    app.include_router(editor_views.router, include_in_schema=False)
    app.add_exception_handler(
        editor_views.NotSignedIn,
        editor_views.login_redirect,  # type: ignore[arg-type]
    )
    app.add_middleware(LocaleMiddleware, locales=catalogues.locales)
    # Feeds and pages are text that shrinks to a fifth; feed readers poll often.
    app.add_middleware(GZipMiddleware, minimum_size=1000, compresslevel=6)
    if on_push is not None:
        app.state.push_ingest = on_push
        app.include_router(websub_views.router, include_in_schema=False)
    return app
