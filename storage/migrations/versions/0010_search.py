"""search index over items' titles and text, filled for every existing item

SQLite: an FTS5 table ``item_search`` (rowid = item id) kept by triggers on
``items``; the body is computed by ``search_body``, a function every
connection made by ``storage.database.make_engine`` has.
PostgreSQL: a generated tsvector column ``items.search_document`` in the
'simple' configuration with unaccent, and a GIN index on it.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 09:30:00
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

SQLITE_UPGRADE = [
    """CREATE VIRTUAL TABLE item_search USING fts5(
        title, body, tokenize = 'unicode61 remove_diacritics 2'
    )""",
    """CREATE TRIGGER items_search_insert AFTER INSERT ON items BEGIN
        INSERT INTO item_search (rowid, title, body)
        VALUES (new.id, new.title, search_body(new.summary, new.content_html));
    END""",
    """CREATE TRIGGER items_search_update
    AFTER UPDATE OF title, summary, content_html ON items BEGIN
        DELETE FROM item_search WHERE rowid = old.id;
        INSERT INTO item_search (rowid, title, body)
        VALUES (new.id, new.title, search_body(new.summary, new.content_html));
    END""",
    """CREATE TRIGGER items_search_delete AFTER DELETE ON items BEGIN
        DELETE FROM item_search WHERE rowid = old.id;
    END""",
    """INSERT INTO item_search (rowid, title, body)
    SELECT id, title, search_body(summary, content_html) FROM items""",
]

# Tags are cut with a pattern, as a generated column can only call immutable
# functions; the text is cut at 100,000 characters, as a tsvector holds 1 MB.
POSTGRES_UPGRADE = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    "CREATE TEXT SEARCH CONFIGURATION portal_search (COPY = simple)",
    """ALTER TEXT SEARCH CONFIGURATION portal_search
    ALTER MAPPING FOR word, hword, hword_part, numword, numhword, hword_numpart
    WITH unaccent, simple""",
    """ALTER TABLE items ADD COLUMN search_document tsvector
    GENERATED ALWAYS AS (
        setweight(to_tsvector('portal_search'::regconfig, coalesce(title, '')), 'A')
        || setweight(to_tsvector('portal_search'::regconfig, left(
            coalesce(summary, '') || ' '
            || regexp_replace(coalesce(content_html, ''), '<[^>]*>', ' ', 'g'),
            100000
        )), 'B')
    ) STORED""",
    "CREATE INDEX ix_items_search_document ON items USING gin (search_document)",
]


def upgrade() -> None:
    statements = SQLITE_UPGRADE
    if op.get_bind().dialect.name == "postgresql":
        statements = POSTGRES_UPGRADE
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_items_search_document")
        op.execute("ALTER TABLE items DROP COLUMN search_document")
        op.execute("DROP TEXT SEARCH CONFIGURATION portal_search")
        return
    for trigger in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER items_search_{trigger}")
    op.execute("DROP TABLE item_search")
