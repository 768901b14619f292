"""One common record schema for every source, each record with its provenance.

A source's answer is mapped (by configuration, see :class:`Mapping`) to records of six
kinds. Only known fields of scalar values survive; strings are cut to a maximum length,
so a hostile answer cannot smuggle structure or megabytes into the result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["hit", "not_on_file", "temporarily_unavailable", "timeout", "error", "refused"]
STATUSES: tuple[Status, ...] = (
    "hit",
    "not_on_file",
    "temporarily_unavailable",
    "timeout",
    "error",
    "refused",
)
KINDS = ("person", "document", "warrant", "status", "encounter", "vehicle")
SUBJECT_FIELDS = ("name", "dob", "reference", "sex", "nationality")
FIELDS: dict[str, tuple[str, ...]] = {
    "person": ("name", "dob", "sex", "nationality", "reference", "address", "synthetic"),
    "document": ("doc_type", "number", "issuer", "issued", "expires", "holder_name"),
    "warrant": (
        "warrant_type",
        "offence",
        "issued",
        "issuing_agency",
        "status",
        "extraditable",
        "caution",
    ),
    "status": ("status", "category", "valid_until", "orders", "authority"),
    "encounter": ("date", "place", "encounter_type", "outcome", "agency"),
    "vehicle": ("plate", "make", "model", "year", "colour", "registered_owner", "flags"),
}
MAX_STR = 500
MAX_RECORDS = 200
QUERY_KEYS = ("reference", "name_dob", "document", "plate")

Scalar = str | int | float | bool | None


@dataclass(frozen=True)
class Provenance:
    source: str
    source_record_id: str
    retrieved_at: str
    query_id: str

    def to_dict(self) -> dict[str, str]:
        return {
            "source": self.source,
            "source_record_id": self.source_record_id,
            "retrieved_at": self.retrieved_at,
            "query_id": self.query_id,
        }


@dataclass(frozen=True)
class Record:
    """One record: its kind, whom it is about (``subject``), its fields, where it came from."""

    kind: str
    subject: dict[str, Scalar]
    data: dict[str, Scalar]
    provenance: Provenance
    synthetic: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "subject": dict(self.subject),
            "data": dict(self.data),
            "synthetic": self.synthetic,
            "provenance": self.provenance.to_dict(),
        }


@dataclass
class Cleaned:
    """What survived cleaning, and how much was dropped (reported, never silent)."""

    values: dict[str, Scalar] = field(default_factory=dict)
    dropped: int = 0


def clean_scalar(value: Any) -> tuple[bool, Scalar]:
    """(ok, value): scalars pass (strings cut to MAX_STR), anything nested is refused."""
    if value is None or isinstance(value, bool | int | float):
        return True, value
    if isinstance(value, str):
        return True, value[:MAX_STR]
    return False, None


def clean_fields(raw: dict[str, Any], allowed: tuple[str, ...]) -> Cleaned:
    out = Cleaned()
    for k, v in raw.items():
        if k not in allowed:
            out.dropped += 1
            continue
        ok, val = clean_scalar(v)
        if not ok:
            out.dropped += 1
            continue
        if val is not None:
            out.values[k] = val
    return out


def normalise_name(name: Scalar) -> str:
    return " ".join(str(name or "").upper().replace(",", " ").split())


@dataclass(frozen=True)
class QueryKeys:
    """What is asked: an identity reference, name + date of birth, a document or a plate."""

    reference: str | None = None
    name: str | None = None
    dob: str | None = None
    document: str | None = None
    plate: str | None = None

    def kinds(self) -> list[str]:
        out = []
        if self.reference:
            out.append("reference")
        if self.name and self.dob:
            out.append("name_dob")
        if self.document:
            out.append("document")
        if self.plate:
            out.append("plate")
        return out

    def for_kinds(self, kinds: tuple[str, ...] | list[str]) -> dict[str, str]:
        """The key values a source that accepts ``kinds`` is sent (nothing else leaves)."""
        out: dict[str, str] = {}
        if "reference" in kinds and self.reference:
            out["reference"] = self.reference
        if "name_dob" in kinds and self.name and self.dob:
            out["name"] = self.name
            out["dob"] = self.dob
        if "document" in kinds and self.document:
            out["document"] = self.document
        if "plate" in kinds and self.plate:
            out["plate"] = self.plate
        return out

    def to_dict(self) -> dict[str, str]:
        return {
            k: v
            for k, v in (
                ("reference", self.reference),
                ("name", self.name),
                ("dob", self.dob),
                ("document", self.document),
                ("plate", self.plate),
            )
            if v
        }
