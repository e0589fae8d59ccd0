"""editors, their sessions and failed logins, the audit log; source trust and pause

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 06:30:00
"""

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    moment = storage.models.UTCDateTime(timezone=True)
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "trust", sa.String(length=16), server_default="trusted", nullable=False
            )
        )
        batch_op.add_column(sa.Column("paused_at", moment, nullable=True))

    op.create_table(
        "editors",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), server_default="1", nullable=False),
        sa.Column("created_at", moment, nullable=False),
        sa.Column("last_login_at", moment, nullable=True),
        sa.Column("failed_logins", sa.Integer(), server_default="0", nullable=False),
        sa.Column("locked_until", moment, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_editors")),
        sa.UniqueConstraint("email", name=op.f("uq_editors_email")),
    )
    op.create_table(
        "editor_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("editor_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", moment, nullable=False),
        sa.Column("expires_at", moment, nullable=False),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["editor_id"],
            ["editors.id"],
            name=op.f("fk_editor_sessions_editor_id_editors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_editor_sessions")),
    )
    op.create_index(
        op.f("ix_editor_sessions_editor_id"), "editor_sessions", ["editor_id"]
    )
    op.create_index(
        op.f("ix_editor_sessions_expires_at"), "editor_sessions", ["expires_at"]
    )
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("at", moment, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    op.create_index("ix_login_failures_address_at", "login_failures", ["address", "at"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", moment, nullable=False),
        sa.Column("editor_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("subject_type", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.String(length=128), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["editor_id"],
            ["editors.id"],
            name=op.f("fk_audit_log_editor_id_editors"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_editor_id"), "audit_log", ["editor_id"])
    op.create_index(op.f("ix_audit_log_action"), "audit_log", ["action"])
    op.create_index("ix_audit_log_subject", "audit_log", ["subject_type", "subject_id"])
    op.create_index("ix_audit_log_at_id", "audit_log", ["at", "id"])


def downgrade() -> None:
    op.drop_table("audit_log")
    op.drop_table("login_failures")
    op.drop_table("editor_sessions")
    op.drop_table("editors")
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.drop_column("paused_at")
        batch_op.drop_column("trust")
