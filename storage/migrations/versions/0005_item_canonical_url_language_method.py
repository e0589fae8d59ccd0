"""item canonical URL, language method and date note

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 05:15:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("canonical_url", sa.String(length=2000), nullable=True)
        )
        batch_op.add_column(
            sa.Column("language_method", sa.String(length=32), nullable=True)
        )
        batch_op.add_column(sa.Column("date_note", sa.Text(), nullable=True))
        batch_op.create_index("ix_items_canonical_url", ["canonical_url"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_index("ix_items_canonical_url")
        batch_op.drop_column("date_note")
        batch_op.drop_column("language_method")
        batch_op.drop_column("canonical_url")
