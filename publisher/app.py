"""The web app, built by one factory from plain values the conductor hands in."""

from __future__ import annotations

import logging
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
    curation_views,
    editor_views,
    feed_views,
    pages,
    registration_review,
    registration_views,
    review_views,
    search_views,
    subscribe_views,
    websub_views,
)
from publisher.caching import ConditionalMiddleware, deploy_version
from publisher.context import PortalConfig, PortalContext
from publisher.feeds import install_filters
from publisher.i18n import Catalogues, LocaleMiddleware, install_i18n
from publisher.registration_mail import RegistrationMail
from publisher.registrations import MailSender, Registering
from publisher.source_preview import PreviewSource
from storage.curation import RegionResolver

HERE = Path(__file__).parent
# What shapes every answer besides the data: a change ends every validator.
VERSIONED = (HERE / "templates", HERE / "translations", HERE / "static")
logger = logging.getLogger(__name__)


def create_app(
    config: PortalConfig,
    sessions: sessionmaker[Session],
    on_push: websub_views.PushIngest | None = None,
    now: Callable[[], datetime] | None = None,
    regions: RegionResolver | None = None,
    preview_source: PreviewSource | None = None,
    send_mail: MailSender | None = None,
    subscription_mail: subscribe_views.SubscriptionMail | None = None,
) -> FastAPI:
    """The portal: pages, feeds and static files.

    With ``on_push``, also the WebSub callback, which hands it every validly
    signed push as (source id, body, headers). ``regions`` checks the region
    codes editors give an item or a source against the region tree. With
    ``preview_source`` (the crawler's check of an address), ``send_mail`` and
    a secret key in the config, also the registration of municipalities'
    sources.
    Without ``subscription_mail`` the subscription pages say that e-mail
    subscriptions are not available.
    """
    catalogues = Catalogues.load()
    templates = Jinja2Templates(directory=HERE / "templates")
    install_filters(templates.env)
    install_i18n(templates.env, catalogues)
    templates.env.globals["site_title"] = config.site_title
    templates.env.globals["news_languages"] = config.news_languages

    app = FastAPI(
        title=f"{config.site_title} API",
        version="1",
        description="Items and sources of the portal, newest first.",
        docs_url=None,
        redoc_url=None,
        openapi_url=f"{api.PREFIX}/openapi.json",
    )
    app.state.portal = PortalContext(
        config, sessions, templates, now or (lambda: datetime.now(UTC)), regions=regions
    )
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(pages.router, include_in_schema=False)
    app.include_router(feed_views.router, include_in_schema=False)
    app.include_router(browse_views.router, include_in_schema=False)
    app.include_router(search_views.router, include_in_schema=False)
    app.include_router(subscribe_views.router, include_in_schema=False)
    app.state.subscription_mail = subscription_mail
    app.include_router(api.router)
    app.include_router(editor_views.router, include_in_schema=False)
    app.include_router(curation_views.router, include_in_schema=False)
    app.include_router(review_views.router, include_in_schema=False)
    app.add_exception_handler(
        editor_views.NotSignedIn,
        editor_views.login_redirect,  # type: ignore[arg-type]
    )
    # The last added runs first: the locale is chosen, then validators are
    # checked (and kept answers replayed, already compressed), then gzip.
    # Feeds and pages are text that shrinks to a fifth; feed readers poll often.
    app.add_middleware(GZipMiddleware, minimum_size=1000, compresslevel=6)
    app.add_middleware(
        ConditionalMiddleware,
        sessions=sessions,
        config=config,
        version=deploy_version(config, VERSIONED),
        now=app.state.portal.now,
    )
    app.add_middleware(LocaleMiddleware, locales=catalogues.locales)

    if preview_source is not None and send_mail is not None:
        _install_registrations(
            app, config, sessions, catalogues, preview_source, send_mail
        )
    if on_push is not None:
        app.state.push_ingest = on_push
        app.include_router(websub_views.router, include_in_schema=False)
    return app


def _install_registrations(
    app: FastAPI,
    config: PortalConfig,
    sessions: sessionmaker[Session],
    catalogues: Catalogues,
    preview_source: PreviewSource,
    send_mail: MailSender,
) -> None:
    if not config.registration.secret_key:
        logger.warning(
            "Registrations are off: set AGGREGATOR_SECRET_KEY to sign their links"
        )
        return
    context: PortalContext = app.state.portal
    app.state.registration_desk = registration_views.RegistrationDesk(
        Registering(sessions, config.registration, preview_source, context.now),
        RegistrationMail(
            catalogues, config.mail_from, config.base_url, config.site_title
        ),
        send_mail,
        catalogues,
    )
    context.templates.env.globals["registrations_enabled"] = True
    app.include_router(registration_views.router, include_in_schema=False)
    app.include_router(registration_views.api_router)
    app.include_router(registration_review.router, include_in_schema=False)
