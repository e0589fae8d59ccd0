"""registrations of municipalities' own sources, and every attempt to register

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 09:20:00
"""

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    moment = storage.models.UTCDateTime(timezone=True)
    op.create_table(
        "registrations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("region_code", sa.String(length=40), nullable=True),
        sa.Column("municipality_name", sa.String(length=300), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("website", sa.String(length=2000), nullable=False),
        sa.Column("given_url", sa.String(length=2000), nullable=False),
        sa.Column("source_url", sa.String(length=2000), nullable=False),
        sa.Column("source_kind", sa.String(length=16), nullable=False),
        sa.Column("source_title", sa.String(length=500), nullable=False),
        sa.Column("contact_name", sa.String(length=200), nullable=False),
        sa.Column("contact_email", sa.String(length=320), nullable=False),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("domain", sa.String(length=253), nullable=False),
        sa.Column("verified", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("created_at", moment, nullable=False),
        sa.Column("confirmed_at", moment, nullable=True),
        sa.Column("decided_at", moment, nullable=True),
        sa.Column("decided_by", sa.String(length=320), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("source_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_registrations_source_id_sources"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registrations")),
    )
    op.create_index(op.f("ix_registrations_state"), "registrations", ["state"])
    op.create_index(
        op.f("ix_registrations_source_url"), "registrations", ["source_url"]
    )
    op.create_index(
        "ix_registrations_domain_state", "registrations", ["domain", "state"]
    )
    op.create_table(
        "registration_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", moment, nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("network", sa.String(length=64), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registration_attempts")),
    )
    op.create_index(
        "ix_registration_attempts_address_at",
        "registration_attempts",
        ["address", "at"],
    )
    op.create_index(
        "ix_registration_attempts_network_at",
        "registration_attempts",
        ["network", "at"],
    )


def downgrade() -> None:
    op.drop_table("registration_attempts")
    op.drop_table("registrations")
