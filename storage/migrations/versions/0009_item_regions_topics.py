"""item regions and topics, and when an item was classified

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 07:30:00
"""

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    moment = storage.models.UTCDateTime(timezone=True)
    with op.batch_alter_table("items", schema=None) as batch_op:
        # Every item stored before has still to be classified: None.
        batch_op.add_column(sa.Column("classified_at", moment, nullable=True))

    op.create_table(
        "item_regions",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("evidence", sa.String(length=300), nullable=False),
        sa.Column("via", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["items.id"],
            name=op.f("fk_item_regions_item_id_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("item_id", "code", name=op.f("pk_item_regions")),
    )
    op.create_index("ix_item_regions_code_item_id", "item_regions", ["code", "item_id"])
    op.create_table(
        "item_topics",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["items.id"],
            name=op.f("fk_item_topics_item_id_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("item_id", "slug", name=op.f("pk_item_topics")),
    )
    op.create_index("ix_item_topics_slug_item_id", "item_topics", ["slug", "item_id"])


def downgrade() -> None:
    op.drop_table("item_topics")
    op.drop_table("item_regions")
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_column("classified_at")
