"""governance: training records, approval requests, disputes

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "training_records",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("operator", sa.String(length=100), nullable=False),
        sa.Column("course", sa.String(length=100), nullable=False),
        sa.Column("completed_on", sa.String(length=10), nullable=False),
        sa.Column("expires_on", sa.String(length=10), nullable=False),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("training_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_training_records_operator"), ["operator"])
    op.create_table(
        "approval_requests",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("requester", sa.String(length=100), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("case_id", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("approval_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_approval_requests_requester"), ["requester"])
        batch_op.create_index(batch_op.f("ix_approval_requests_status"), ["status"])
    op.create_table(
        "disputes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("identity_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["identity_id"], ["identities.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_disputes_identity_id"), ["identity_id"])


def downgrade() -> None:
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_disputes_identity_id"))
    op.drop_table("disputes")
    with op.batch_alter_table("approval_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_approval_requests_status"))
        batch_op.drop_index(batch_op.f("ix_approval_requests_requester"))
    op.drop_table("approval_requests")
    with op.batch_alter_table("training_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_training_records_operator"))
    op.drop_table("training_records")
