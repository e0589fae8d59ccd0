"""WebSub subscriptions

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 09:00:00
"""

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    moment = storage.models.UTCDateTime(timezone=True)
    op.create_table(
        "websub_subscriptions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source_id", sa.String(length=64), nullable=False),
        sa.Column("hub_url", sa.String(length=2000), nullable=False),
        sa.Column("topic_url", sa.String(length=2000), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("lease_seconds", sa.Integer(), nullable=False),
        sa.Column("requested_at", moment, nullable=False),
        sa.Column("verified_at", moment, nullable=True),
        sa.Column("lease_expires_at", moment, nullable=True),
        sa.Column("renew_at", moment, nullable=True),
        sa.Column("last_push_at", moment, nullable=True),
        sa.Column("pushes", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_websub_subscriptions_source_id_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_websub_subscriptions")),
        sa.UniqueConstraint(
            "source_id", name=op.f("uq_websub_subscriptions_source_id")
        ),
    )
    with op.batch_alter_table("websub_subscriptions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_websub_subscriptions_renew_at"), ["renew_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("websub_subscriptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_websub_subscriptions_renew_at"))
    op.drop_table("websub_subscriptions")
