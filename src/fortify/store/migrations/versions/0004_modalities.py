"""modalities: samples, templates and encounter captures name their modality and finger

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("samples", "templates", "encounter_captures")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("modality", sa.String(length=16), server_default="face", nullable=False)
            )
            batch_op.add_column(sa.Column("finger_position", sa.Integer(), nullable=True))
    with op.batch_alter_table("templates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_templates_modality"), ["modality"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("templates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_templates_modality"))
    for table in reversed(TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("finger_position")
            batch_op.drop_column("modality")
