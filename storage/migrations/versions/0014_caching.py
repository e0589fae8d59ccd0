"""indexes the portal's validators read the newest changes from

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 09:30:00
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_items_changed_at", "items", ["changed_at"])
    op.create_index("ix_items_classified_at", "items", ["classified_at"])
    op.create_index("ix_stories_updated_at", "stories", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_stories_updated_at", table_name="stories")
    op.drop_index("ix_items_classified_at", table_name="items")
    op.drop_index("ix_items_changed_at", table_name="items")
