"""source moves, item freshness

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03 20:31:38.396605
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("date_known", sa.Boolean(), server_default="1", nullable=False)
        )
        batch_op.add_column(sa.Column("delay_seconds", sa.Integer(), nullable=True))
        batch_op.create_index(
            "ix_items_source_id_published_at",
            ["source_id", "published_at"],
            unique=False,
        )

    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.add_column(sa.Column("state_reason", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("moved_to", sa.String(length=2000), nullable=True)
        )
        batch_op.add_column(
            sa.Column("moved_count", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("registry_url", sa.String(length=2000), nullable=True)
        )

    op.execute("UPDATE sources SET registry_url = url")


def downgrade() -> None:
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.drop_column("registry_url")
        batch_op.drop_column("moved_count")
        batch_op.drop_column("moved_to")
        batch_op.drop_column("state_reason")

    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_index("ix_items_source_id_published_at")
        batch_op.drop_column("delay_seconds")
        batch_op.drop_column("date_known")
