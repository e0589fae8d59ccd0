"""curation: items' review state, hiding and corrected titles; hidden stories;
featured stories

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 09:10:00
"""

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    moment = storage.models.UTCDateTime(timezone=True)
    with op.batch_alter_table("items", schema=None) as batch_op:
        # Everything stored before was published: it stays so.
        batch_op.add_column(
            sa.Column(
                "review",
                sa.String(length=16),
                server_default="published",
                nullable=False,
            )
        )
        batch_op.add_column(sa.Column("reviewed_at", moment, nullable=True))
        batch_op.add_column(
            sa.Column("reviewed_by", sa.String(length=320), nullable=True)
        )
        batch_op.add_column(sa.Column("hidden_at", moment, nullable=True))
        batch_op.add_column(sa.Column("corrected_title", sa.Text(), nullable=True))
    with op.batch_alter_table("stories", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hidden_at", moment, nullable=True))

    op.create_table(
        "features",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("place", sa.String(length=40), nullable=False),
        sa.Column("until", moment, nullable=False),
        sa.Column("created_at", moment, nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("ended_at", moment, nullable=True),
        sa.ForeignKeyConstraint(
            ["story_id"],
            ["stories.id"],
            name=op.f("fk_features_story_id_stories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_features")),
    )
    op.create_index("ix_features_place_until", "features", ["place", "until"])
    op.create_index("ix_features_story_id", "features", ["story_id"])


def downgrade() -> None:
    op.drop_table("features")
    with op.batch_alter_table("stories", schema=None) as batch_op:
        batch_op.drop_column("hidden_at")
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_column("corrected_title")
        batch_op.drop_column("hidden_at")
        batch_op.drop_column("reviewed_by")
        batch_op.drop_column("reviewed_at")
        batch_op.drop_column("review")
