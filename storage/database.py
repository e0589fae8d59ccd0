"""Engines, sessions and schema upgrades for SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from storage.search import search_body

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(
    url: str, pool_size: int = 5, statement_timeout_seconds: float = 0
) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and a busy timeout.

    On PostgreSQL, a pool of ``pool_size`` connections (twice as many for a
    moment under load), each tested before use so that one the server
    dropped (a restart, ``pg_terminate_backend``) is replaced instead of
    failing a query, and a statement timeout when it is not 0.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        connect_args: dict[str, Any] = {"connect_timeout": 10}
        if statement_timeout_seconds:
            milliseconds = int(statement_timeout_seconds * 1000)
            connect_args["options"] = f"-c statement_timeout={milliseconds}"
        return create_engine(
            url,
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_pre_ping=True,
            connect_args=connect_args,
        )

    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30})
    event.listen(engine, "connect", _tune_sqlite)
    return engine


def _tune_sqlite(connection: Any, _record: Any) -> None:
    # WAL lets the web app read while the crawler writes; SQLite leaves foreign
    # keys off unless every connection asks for them.
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
    # The search index's triggers call it on every write to items.
    # Limitation: a connection made elsewhere (the sqlite3 shell) can read
    # items but not write them: it lacks this function.
    connection.create_function("search_body", 2, search_body, deterministic=True)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def upgrade_database(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` with the project's Alembic migrations."""
    config = _alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    logger.info("Database schema is up to date", extra={"revision": revision})


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config
