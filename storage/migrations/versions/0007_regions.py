"""regions: the tree of EU, countries, NUTS regions and municipalities

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 07:05:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "regions",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("parent", sa.String(length=40), nullable=True),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("names", sa.JSON(), nullable=False),
        sa.Column("population", sa.Integer(), nullable=True),
        sa.Column("path", sa.String(length=400), nullable=False),
        sa.Column("replaces", sa.String(length=40), nullable=True),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_regions")),
    )
    op.create_index(op.f("ix_regions_parent"), "regions", ["parent"])
    op.create_index(op.f("ix_regions_country"), "regions", ["country"])
    op.create_index(op.f("ix_regions_path"), "regions", ["path"])


def downgrade() -> None:
    op.drop_index(op.f("ix_regions_path"), table_name="regions")
    op.drop_index(op.f("ix_regions_country"), table_name="regions")
    op.drop_index(op.f("ix_regions_parent"), table_name="regions")
    op.drop_table("regions")
