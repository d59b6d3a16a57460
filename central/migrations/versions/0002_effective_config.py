"""Config push as a merge patch: the device's reported effective config, the patch and its base hash.

Revision ID: 0002_effective_config
Revises: 0001
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_effective_config"
down_revision = "0001"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("effective_config", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("effective_config_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("effective_config_version", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("effective_config_at", Timestamp, nullable=True))
    with op.batch_alter_table("device_configs") as batch:
        # Pushes made before this revision hold whole configs: as merge patches they set every key.
        batch.alter_column("config", new_column_name="patch")
        batch.add_column(sa.Column("base_hash", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("device_configs") as batch:
        batch.drop_column("base_hash")
        batch.alter_column("patch", new_column_name="config")
    with op.batch_alter_table("devices") as batch:
        for column in ("at", "version", "hash"):
            batch.drop_column(f"effective_config_{column}")
        batch.drop_column("effective_config")
