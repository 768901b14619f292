"""Group records of one person across sources; flag conflicts, never merge silently.

Records are linked when they share an identity reference, a document number, or a
normalised name (a name-only link is said so). Within a group the subject fields that
agree are listed once; fields with different values (another date of birth, another
status) are conflicts, each value with the sources that gave it.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from fortify.federation.records import Record, Scalar, normalise_name

CONFLICT_FIELDS = ("dob", "sex", "nationality")


class _Links:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        self.parent[self.find(a)] = self.find(b)


def _keys(r: Record) -> list[tuple[str, str]]:
    out = []
    if r.subject.get("reference"):
        out.append(("reference", str(r.subject["reference"]).strip().upper()))
    if r.kind == "document" and r.data.get("number"):
        out.append(("document", str(r.data["number"]).replace(" ", "").upper()))
    if r.subject.get("name"):
        out.append(("name", normalise_name(r.subject["name"])))
    return out


def _values(records: list[Record], get: Any) -> dict[str, list[str]]:
    seen: dict[str, set[str]] = defaultdict(set)
    for r in records:
        v: Scalar = get(r)
        if v is not None and v != "":
            seen[str(v).strip()].add(r.provenance.source)
    return {v: sorted(s) for v, s in seen.items()}


def _original(records: list[Record], f: str) -> str:
    names = [str(r.subject[f]) for r in records if r.subject.get(f)]
    return max(set(names), key=names.count)


def group_records(records: list[Record]) -> list[dict[str, Any]]:
    """Person groups: records, agreeing subject fields, conflicts, how they were linked."""
    links = _Links(len(records))
    first: dict[tuple[str, str], int] = {}
    how: dict[int, set[str]] = defaultdict(set)
    for i, r in enumerate(records):
        for key in _keys(r):
            if key in first:
                links.union(i, first[key])
                how[i].add(key[0])
            else:
                first[key] = i
    members: dict[int, list[int]] = defaultdict(list)
    for i in range(len(records)):
        members[links.find(i)].append(i)
    groups: list[dict[str, Any]] = []
    for root, idx in members.items():
        recs = [records[i] for i in idx]
        agree: dict[str, str] = {}
        conflicts: list[dict[str, Any]] = []
        for f in ("name", "reference", *CONFLICT_FIELDS):
            vals = _values(
                recs,
                (lambda r, f=f: normalise_name(r.subject.get(f)) or None)
                if f == "name"
                else (lambda r, f=f: r.subject.get(f)),
            )
            if len(vals) == 1:
                agree[f] = _original(recs, f) if f == "name" else next(iter(vals))
            elif len(vals) > 1:
                conflicts.append({"field": f, "values": vals})
        statuses = [r for r in recs if r.kind == "status"]
        for cat in sorted({str(r.data.get("category") or "") for r in statuses}):
            vals = _values(
                [r for r in statuses if str(r.data.get("category") or "") == cat],
                lambda r: r.data.get("status"),
            )
            if len(vals) > 1:
                conflicts.append({"field": "status", "category": cat or None, "values": vals})
        linked = sorted({k for i in idx for k in how[i]})
        groups.append(
            {
                "group": len(groups) + 1,
                "sources": sorted({r.provenance.source for r in recs}),
                "agree": agree,
                "conflicts": conflicts,
                "linked_by": linked,
                "name_only_link": linked == ["name"],
                "records": [records[i].to_dict() for i in idx],
                "_root": root,
            }
        )
    for g in groups:
        g.pop("_root")
    groups.sort(key=lambda g: (-len(g["sources"]), g["group"]))
    for n, g in enumerate(groups, 1):
        g["group"] = n
    return groups
