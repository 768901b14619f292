"""record queries (Super Query)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "record_queries",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("encounter_id", sa.String(length=32), nullable=True),
        sa.Column("operator", sa.String(length=100), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("purpose_code", sa.String(length=16), nullable=False),
        sa.Column("case_id", sa.String(length=100), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.Column("retain_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("record_queries", schema=None) as batch_op:
        for col in ("encounter_id", "operator", "case_id", "created_at", "retain_until"):
            batch_op.create_index(batch_op.f(f"ix_record_queries_{col}"), [col], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("record_queries", schema=None) as batch_op:
        for col in ("encounter_id", "operator", "case_id", "created_at", "retain_until"):
            batch_op.drop_index(batch_op.f(f"ix_record_queries_{col}"))
    op.drop_table("record_queries")
