"""The listing_images and background_jobs tables, or, where darkroom's core schema made
them before (its revision 0004), those tables adopted as they are.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    existing = sa.inspect(op.get_bind())
    if not existing.has_table("listing_images"):
        op.create_table(
            "listing_images",
            sa.Column("id", sa.String(36), primary_key=True),
            sa.Column("listing_title", sa.Text, nullable=False),
            sa.Column("file_name", sa.Text, nullable=False),
            sa.Column("source_key", sa.Text, nullable=False),
            sa.Column("status", sa.String(16), nullable=False),
            sa.Column("retries", sa.Integer, nullable=False),
            sa.Column("error", sa.Text, nullable=False),
            sa.Column("created_at", sa.Float, nullable=False),
            sa.Column("updated_at", sa.Float, nullable=False),
            sa.Column("processed_at", sa.Float),
            sa.Column("lease_expires_at", sa.Float),
        )
        op.create_index("ix_listing_images_status", "listing_images", ["status", "created_at"])
    if not existing.has_table("background_jobs"):
        op.create_table(
            "background_jobs",
            sa.Column("id", sa.String(64), primary_key=True),
            sa.Column("name", sa.Text, nullable=False),
            sa.Column("description", sa.Text, nullable=False),
            sa.Column("type", sa.String(32), nullable=False),
            sa.Column("interval_s", sa.Float, nullable=False),
            sa.Column("payload", sa.JSON, nullable=False),
            sa.Column("active", sa.Boolean, nullable=False),
            sa.Column("created_at", sa.Float, nullable=False),
            sa.Column("updated_at", sa.Float, nullable=False),
            sa.Column("last_run_at", sa.Float),
        )


def downgrade() -> None:
    op.drop_table("background_jobs")
    op.drop_table("listing_images")
