"""SQL tables. Every template change also writes a ``change_log`` row (same transaction)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# SQLite only auto-increments INTEGER PRIMARY KEY columns.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON,
        datetime: DateTime(timezone=True),
    }


class Source(Base):
    """A record system identities come from (a watch list, a custody register, the demo)."""

    __tablename__ = "sources"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Identity(Base):
    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("source_id", "reference", name="uq_identity_source_ref"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"), index=True)
    reference: Mapped[str] = mapped_column(String(128), index=True)
    display_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    source: Mapped[Source] = relationship(lazy="joined")
    samples: Mapped[list[Sample]] = relationship(
        back_populates="identity", cascade="all, delete-orphan", order_by="Sample.captured_at"
    )


class Sample(Base):
    """One captured image of an identity (the image file is kept or not, by policy)."""

    __tablename__ = "samples"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    identity_id: Mapped[str] = mapped_column(
        ForeignKey("identities.id", ondelete="CASCADE"), index=True
    )
    captured_at: Mapped[datetime] = mapped_column(default=utcnow)
    image_path: Mapped[str | None] = mapped_column(String(300), nullable=True)
    image_sha256: Mapped[str] = mapped_column(String(64))
    original_name: Mapped[str | None] = mapped_column(String(300), nullable=True)
    quality: Mapped[dict[str, Any]] = mapped_column(default=dict)
    face_box: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    modality: Mapped[str] = mapped_column(String(16), default="face", server_default="face")
    finger_position: Mapped[int | None] = mapped_column(Integer, nullable=True)

    identity: Mapped[Identity] = relationship(back_populates="samples")
    templates: Mapped[list[TemplateRow]] = relationship(
        back_populates="sample", cascade="all, delete-orphan"
    )


class TemplateRow(Base):
    """A template; its integer id is the vector id in the index."""

    __tablename__ = "templates"
    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    sample_id: Mapped[str] = mapped_column(ForeignKey("samples.id", ondelete="CASCADE"), index=True)
    identity_id: Mapped[str] = mapped_column(String(32), index=True)
    model_id: Mapped[str] = mapped_column(String(64), index=True)
    model_version: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    modality: Mapped[str] = mapped_column(
        String(16), default="face", server_default="face", index=True
    )
    finger_position: Mapped[int | None] = mapped_column(Integer, nullable=True)

    sample: Mapped[Sample] = relationship(back_populates="templates")


class ChangeLog(Base):
    """Monotonic log of template adds/removes; the index replays it by ``seq``."""

    __tablename__ = "change_log"
    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    template_id: Mapped[int] = mapped_column(BigInteger, index=True)
    model_id: Mapped[str] = mapped_column(String(64))
    op: Mapped[str] = mapped_column(String(8))  # "add" | "remove"
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Encounter(Base):
    """One search (1:N), with who asked, why, and what came back."""

    __tablename__ = "encounters"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    operator: Mapped[str] = mapped_column(String(100), index=True)
    purpose: Mapped[str] = mapped_column(Text)
    case_id: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    channel: Mapped[str] = mapped_column(String(16), default="api")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    decision: Mapped[str] = mapped_column(String(16))
    threshold: Mapped[float] = mapped_column(Float)
    model_id: Mapped[str] = mapped_column(String(64))
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    probe_path: Mapped[str | None] = mapped_column(String(300), nullable=True)
    retain_until: Mapped[datetime | None] = mapped_column(nullable=True, index=True)
    confirmed_identity_id: Mapped[str | None] = mapped_column(String(32), nullable=True)


class EncounterCapture(Base):
    """One capture of an encounter; several captures of one person are fused."""

    __tablename__ = "encounter_captures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    encounter_id: Mapped[str] = mapped_column(
        ForeignKey("encounters.id", ondelete="CASCADE"), index=True
    )
    seq: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    template: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    probe_path: Mapped[str | None] = mapped_column(String(300), nullable=True)
    quality: Mapped[dict[str, Any]] = mapped_column(default=dict)
    top: Mapped[dict[str, Any]] = mapped_column(default=dict)
    modality: Mapped[str] = mapped_column(String(16), default="face", server_default="face")
    finger_position: Mapped[int | None] = mapped_column(Integer, nullable=True)


class User(Base):
    """An operator. Only a hash of the API token is stored."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # when the current token was issued (expiry = this + FORTIFY_TOKEN_TTL_DAYS)
    token_issued_at: Mapped[datetime | None] = mapped_column(default=utcnow, nullable=True)


class OptOut(Base):
    """A reference that must never be enrolled again (stored as a salted hash)."""

    __tablename__ = "opt_outs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    reference_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEvent(Base):
    """Append-only, hash-chained audit log: ``hash = H(prev_hash || canonical(entry))``."""

    __tablename__ = "audit_events"
    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=False)
    ts: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(100), index=True)
    action: Mapped[str] = mapped_column(String(40), index=True)
    target: Mapped[str] = mapped_column(String(200), default="")
    details: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """Single row holding the chain head; updating it first serialises appends."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    hash: Mapped[str] = mapped_column(String(64))


class TrainingRecord(Base):
    """An operator's training attestation (course, completion, expiry). By operator name,
    so the local OS account (``local:<user>``) can be trained too."""

    __tablename__ = "training_records"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    operator: Mapped[str] = mapped_column(String(100), index=True)
    course: Mapped[str] = mapped_column(String(100))
    completed_on: Mapped[str] = mapped_column(String(10))  # ISO date
    expires_on: Mapped[str] = mapped_column(String(10))  # ISO date
    recorded_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApprovalRequest(Base):
    """A supervisor's prior approval for searches of a category that needs one."""

    __tablename__ = "approval_requests"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    requester: Mapped[str] = mapped_column(String(100), index=True)
    category: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(Text)
    case_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    decided_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    decision_note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Dispute(Base):
    """A correction or dispute recorded against an identity record (shown on candidate cards)."""

    __tablename__ = "disputes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    identity_id: Mapped[str] = mapped_column(
        ForeignKey("identities.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # "correction" | "dispute"
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")
    recorded_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RecordQuery(Base):
    """One Super Query: who asked which record systems, why, and each source's status.

    ``summary`` (statuses, key kinds) is kept; ``payload`` (the keys and the records that
    came back) only for the encounter's retention period, then purged.
    """

    __tablename__ = "record_queries"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    encounter_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    operator: Mapped[str] = mapped_column(String(100), index=True)
    purpose: Mapped[str] = mapped_column(Text)
    purpose_code: Mapped[str] = mapped_column(String(16))
    case_id: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    channel: Mapped[str] = mapped_column(String(16), default="api")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    retain_until: Mapped[datetime | None] = mapped_column(nullable=True, index=True)


class OptOutTemplate(Base):
    """A template of a person who opted out, kept ONLY to refuse their re-enrolment.

    Never part of the search index and never returned as a candidate (migration 0003).
    """

    __tablename__ = "opt_out_templates"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    opt_out_id: Mapped[int] = mapped_column(ForeignKey("opt_outs.id", ondelete="CASCADE"))
    model_id: Mapped[str] = mapped_column(String(64), index=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


Index("ix_samples_identity_digest", Sample.identity_id, Sample.image_sha256)
