"""The web app, built by one factory from plain values the conductor hands in."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session, sessionmaker

from publisher import feed_views, pages
from publisher.context import PortalConfig, PortalContext
from publisher.feeds import install_filters

HERE = Path(__file__).parent


def create_app(config: PortalConfig, sessions: sessionmaker[Session]) -> FastAPI:
    """The portal: pages, feeds and static files."""
    templates = Jinja2Templates(directory=HERE / "templates")
    install_filters(templates.env)
    templates.env.globals["site_title"] = config.site_title

    app = FastAPI(
        title=config.site_title, docs_url=None, redoc_url=None, openapi_url=None
    )
    app.state.portal = PortalContext(config, sessions, templates)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(pages.router)
    app.include_router(feed_views.router)
    return app
