"""stories, item bands, editor decisions; one story for every existing item

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 06:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stories",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("headline_item_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("editor_locked", sa.Boolean(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stories")),
    )
    op.create_index(
        "ix_stories_headline_item_id", "stories", ["headline_item_id"], unique=False
    )
    op.create_table(
        "item_bands",
        sa.Column("band", sa.SmallInteger(), nullable=False),
        sa.Column("hash", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("hash", "band", "item_id", name=op.f("pk_item_bands")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "story_decisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("other_story_id", sa.Integer(), nullable=True),
        sa.Column("editor", sa.String(length=200), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["items.id"],
            name=op.f("fk_story_decisions_item_id_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_story_decisions")),
    )
    op.create_index(
        "ix_story_decisions_item_id", "story_decisions", ["item_id"], unique=False
    )

    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("story_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("story_role", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("text_hash", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("minhash", sa.LargeBinary(), nullable=True))
        batch_op.add_column(
            sa.Column("release_ref", sa.String(length=64), nullable=True)
        )
        batch_op.add_column(
            sa.Column("language_key", sa.String(length=32), nullable=True)
        )
        batch_op.create_foreign_key(
            "fk_items_story_id_stories",
            "stories",
            ["story_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index("ix_items_story_id", ["story_id"], unique=False)
        batch_op.create_index("ix_items_text_hash", ["text_hash"], unique=False)
        batch_op.create_index("ix_items_release_ref", ["release_ref"], unique=False)
        batch_op.create_index("ix_items_language_key", ["language_key"], unique=False)

    # Nothing stored is lost: every existing item heads a story of its own,
    # numbered like the item. Dedup fingerprints each item the next time its
    # source is crawled (text_hash is still empty) and moves it into another
    # item's story when it turns out to be a copy.
    op.execute(
        "INSERT INTO stories (id, headline_item_id, created_at, updated_at, "
        "editor_locked) SELECT id, id, first_seen_at, first_seen_at, false "
        "FROM items"
    )
    op.execute("UPDATE items SET story_id = id, story_role = 'headline'")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "SELECT setval(pg_get_serial_sequence('stories', 'id'), "
            "COALESCE((SELECT MAX(id) FROM stories), 0) + 1, false)"
        )


def downgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_index("ix_items_language_key")
        batch_op.drop_index("ix_items_release_ref")
        batch_op.drop_index("ix_items_text_hash")
        batch_op.drop_index("ix_items_story_id")
        batch_op.drop_constraint("fk_items_story_id_stories", type_="foreignkey")
        batch_op.drop_column("language_key")
        batch_op.drop_column("release_ref")
        batch_op.drop_column("minhash")
        batch_op.drop_column("text_hash")
        batch_op.drop_column("story_role")
        batch_op.drop_column("story_id")
    op.drop_index("ix_story_decisions_item_id", table_name="story_decisions")
    op.drop_table("story_decisions")
    op.drop_table("item_bands")
    op.drop_index("ix_stories_headline_item_id", table_name="stories")
    op.drop_table("stories")
