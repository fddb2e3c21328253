"""The image_jobs table, or, where darkroom's core schema made it before (its revision
0003), that table adopted as it is.

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
    if sa.inspect(op.get_bind()).has_table("image_jobs"):
        return
    op.create_table(
        "image_jobs",
        sa.Column("id", sa.String(24), primary_key=True),
        sa.Column("entity_type", sa.String(16), nullable=False),
        sa.Column("entity_id", sa.String(256), nullable=False),
        sa.Column("source_key", sa.Text, nullable=False),
        sa.Column("source_url", sa.Text, nullable=False),
        sa.Column("output_key", sa.Text),
        sa.Column("output_url", sa.Text),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error_msg", sa.Text, nullable=False),
        sa.Column("original_filename", sa.Text, nullable=False),
        sa.Column("mimetype", sa.String(128), nullable=False),
        sa.Column("file_size", sa.Integer, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("processed_at", sa.Float),
    )
    op.create_index("ix_image_jobs_entity", "image_jobs", ["entity_type", "entity_id"])
    op.create_index("ix_image_jobs_status", "image_jobs", ["status"])


def downgrade() -> None:
    op.drop_table("image_jobs")
