"""Once the imagejobs dialect's table (seed 001); now nothing.

Those tables belong to the dialect, which makes them with migrations of its own
(darkroom/dialects/*_schema), only where it is enabled. A database this revision filled
keeps them, and the dialect's first migration adopts them.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
