"""Records of one person across sources are grouped; conflicts are flagged."""

from __future__ import annotations

from typing import Any

from fortify.federation.grouping import group_records
from fortify.federation.records import Provenance, Record


def rec(source: str, kind: str, subject: dict[str, Any], **data: Any) -> Record:
    return Record(kind, subject, data, Provenance(source, f"{source}-1", "t", "q"))


def test_same_person_grouped_with_dob_and_status_conflicts() -> None:
    records = [
        rec("warrants", "warrant", {"name": "Ann Lee", "dob": "1970-01-01", "reference": "R1"}),
        rec("state", "person", {"name": "LEE, ANN", "dob": "1971-01-01", "reference": "R1"}),
        rec("state", "status", {"reference": "R1"}, status="lawful resident", category="imm"),
        rec("border", "status", {"name": "ann  lee"}, status="removal order", category="imm"),
        rec("border", "status", {"name": "Ann Lee"}, status="licence valid", category="dmv"),
        rec("other", "person", {"name": "Bob Roe", "dob": "1980-02-02"}),
    ]
    groups = group_records(records)
    assert len(groups) == 2
    g = groups[0]
    assert g["sources"] == ["border", "state", "warrants"]
    assert g["agree"]["reference"] == "R1"
    fields = {c["field"]: c for c in g["conflicts"]}
    assert fields["dob"]["values"] == {"1970-01-01": ["warrants"], "1971-01-01": ["state"]}
    assert fields["status"]["category"] == "imm"  # the dmv status is another category
    assert set(fields["status"]["values"]) == {"lawful resident", "removal order"}
    assert set(g["linked_by"]) == {"name", "reference"} and not g["name_only_link"]
    assert groups[1]["sources"] == ["other"] and groups[1]["conflicts"] == []


def test_name_only_link_is_said_so() -> None:
    groups = group_records(
        [
            rec("a", "person", {"name": "Kim Park", "dob": "1990-01-01"}),
            rec("b", "person", {"name": "Kim Park", "dob": "1991-05-05"}),
        ]
    )
    assert len(groups) == 1 and groups[0]["name_only_link"]
    assert groups[0]["conflicts"][0]["field"] == "dob"


def test_document_number_links() -> None:
    a = rec("a", "document", {"name": "X One"}, number="P 123")
    b = rec("b", "document", {"name": "Y Two"}, number="p123")
    [g] = group_records([a, b])
    assert g["linked_by"] == ["document"]
    assert g["conflicts"] == [{"field": "name", "values": {"X ONE": ["a"], "Y TWO": ["b"]}}]
