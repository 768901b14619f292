"""opt-out refusal templates; sample digest index

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "opt_out_templates",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("opt_out_id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["opt_out_id"], ["opt_outs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("opt_out_templates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_opt_out_templates_model_id"), ["model_id"], unique=False
        )
    with op.batch_alter_table("samples", schema=None) as batch_op:
        batch_op.create_index(
            "ix_samples_identity_digest", ["identity_id", "image_sha256"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("samples", schema=None) as batch_op:
        batch_op.drop_index("ix_samples_identity_digest")
    with op.batch_alter_table("opt_out_templates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_opt_out_templates_model_id"))
    op.drop_table("opt_out_templates")
