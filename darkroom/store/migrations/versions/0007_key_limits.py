"""Rate limits and quotas of API keys, and each key's token bucket.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("rate_per_s", sa.Float))
        batch.add_column(sa.Column("burst", sa.Integer))
        batch.add_column(sa.Column("max_queued", sa.Integer))
        batch.add_column(sa.Column("tokens", sa.Float))
        batch.add_column(sa.Column("tokens_at", sa.Float))


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        for column in ("tokens_at", "tokens", "max_queued", "burst", "rate_per_s"):
            batch.drop_column(column)
