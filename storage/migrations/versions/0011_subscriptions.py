"""subscriptions to e-mail digests and the digest send log

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 09:15:00
"""

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    moment = storage.models.UTCDateTime(timezone=True)
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("nonce", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("frequency", sa.String(length=8), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("regions", sa.JSON(), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("requested_at", moment, nullable=False),
        sa.Column("consent_at", moment, nullable=True),
        sa.Column("consent_text", sa.Text(), nullable=True),
        sa.Column("updated_at", moment, nullable=False),
        sa.Column("paused_at", moment, nullable=True),
        sa.Column("pause_reason", sa.String(length=16), nullable=True),
        sa.Column("unsubscribed_at", moment, nullable=True),
        sa.Column("digest_since", moment, nullable=True),
        sa.Column("failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_failure", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriptions")),
    )
    op.create_index(
        op.f("ix_subscriptions_email"), "subscriptions", ["email"], unique=False
    )
    op.create_index(
        "ix_subscriptions_state_frequency", "subscriptions", ["state", "frequency"]
    )
    op.create_table(
        "digest_sends",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("claim_token", sa.String(length=32), nullable=False),
        sa.Column("claimed_at", moment, nullable=False),
        sa.Column("lease_until", moment, nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="1", nullable=False),
        sa.Column("finished_at", moment, nullable=True),
        sa.Column("stories", sa.Integer(), server_default="0", nullable=False),
        sa.Column("message_id", sa.String(length=200), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name=op.f("fk_digest_sends_subscription_id_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digest_sends")),
        sa.UniqueConstraint(
            "subscription_id", "period", name=op.f("uq_digest_sends_subscription_id")
        ),
    )
    op.create_index("ix_digest_sends_period_state", "digest_sends", ["period", "state"])


def downgrade() -> None:
    op.drop_table("digest_sends")
    op.drop_table("subscriptions")
