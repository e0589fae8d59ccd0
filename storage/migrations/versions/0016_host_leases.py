"""request slots and pace of each host, shared by the workers

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 12:40:00
"""

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "host_slots",
        sa.Column("host", sa.String(255), primary_key=True),
        sa.Column("slot", sa.Integer, primary_key=True),
        sa.Column("holder", sa.String(64)),
        sa.Column("expires_at", UTCDateTime()),
    )
    op.create_table(
        "host_pace",
        sa.Column("host", sa.String(255), primary_key=True),
        sa.Column("next_start", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("host_pace")
    op.drop_table("host_slots")
