"""Mapping of answers to the common records, and containment of bad answers."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from fortify.federation.config import RecordMap, SourceConfig
from fortify.federation.connectors import SourceFailure, map_answer, parse_json
from fortify.federation.records import MAX_RECORDS, MAX_STR, QueryKeys
from fortify.federation.transports import HttpConnector
from tests.unit.federation.conftest import Start, http_source, outbound

WARRANTS = SourceConfig(
    name="warrants",
    transport="http",
    url="http://x/q",
    status_field="result",
    status_values={"HIT": "hit", "NO RECORD": "not_on_file"},
    map=[
        RecordMap(
            records="warrants",
            kind="warrant",
            id="warrant_no",
            synthetic="synthetic",
            subject={"name": "subject.name", "dob": "subject.dob"},
            fields={"offence": "offence", "issuing_agency": "court"},
        )
    ],
)
NATIVE = SourceConfig(name="native", transport="http", url="http://x/q")


def test_configured_mapping_gives_common_records_with_provenance() -> None:
    raw = {
        "result": "HIT",
        "warrants": [
            {"warrant_no": "W1", "subject": {"name": "A B", "dob": "1970-01-01"},
             "offence": "SYNTHETIC", "court": "C", "secret": "dropped", "synthetic": True}
        ],
    }  # fmt: skip
    a = map_answer(WARRANTS, raw, "q9", "2026-01-01T00:00:00Z")
    assert a.status == "hit" and len(a.records) == 1
    r = a.records[0].to_dict()
    assert r["kind"] == "warrant" and r["synthetic"] is True
    assert r["subject"] == {"name": "A B", "dob": "1970-01-01"}
    assert r["data"] == {"offence": "SYNTHETIC", "issuing_agency": "C"}
    assert r["provenance"] == {
        "source": "warrants", "source_record_id": "W1",
        "retrieved_at": "2026-01-01T00:00:00Z", "query_id": "q9",
    }  # fmt: skip
    assert map_answer(WARRANTS, {"result": "NO RECORD", "warrants": []}, "q", "t").status == (
        "not_on_file"
    )


def test_native_format_and_declared_statuses() -> None:
    raw = {"status": "hit", "records": [
        {"kind": "status", "id": "S1", "subject": {"name": "X"}, "data": {"status": "valid"}},
        {"kind": "vehicle", "id": "V1", "data": {"plate": "AB1", "colour": "red"}},
    ]}  # fmt: skip
    a = map_answer(NATIVE, raw, "q", "t")
    assert [r.kind for r in a.records] == ["status", "vehicle"]
    for s in ("temporarily_unavailable", "refused"):
        assert map_answer(NATIVE, {"status": s, "records": raw["records"]}, "q", "t").status == s
    assert map_answer(NATIVE, {"status": "hit", "records": []}, "q", "t").status == "not_on_file"


@pytest.mark.parametrize(
    "raw",
    [
        [1, 2],
        {"status": "maybe"},
        {"records": "x"},
        {"records": [1]},
        {"records": [{"kind": "person", "subject": {}}]},
        {"records": [{"kind": "person", "id": {"$gt": ""}}]},
    ],
)
def test_malformed_answers_are_refused(raw: Any) -> None:
    with pytest.raises(SourceFailure) as e:
        map_answer(NATIVE, raw, "q", "t")
    assert e.value.status == "error" and "malformed" in e.value.reason


def test_hostile_values_are_contained() -> None:
    raw = {"records": [{
        "kind": "warrant", "id": "H", "subject": {"name": "<script>" + "A" * 10_000, "dob": ["x"]},
        "data": {"offence": {"deep": 1}, "__proto__": "x", "caution": "armed"},
    }] * (MAX_RECORDS + 5)}  # fmt: skip
    a = map_answer(NATIVE, raw, "q", "t")
    r = a.records[0]
    assert len(str(r.subject["name"])) == MAX_STR and "dob" not in r.subject
    assert r.data == {"caution": "armed"}
    assert a.dropped_fields > 0 and a.truncated and len(a.records) == MAX_RECORDS
    with pytest.raises(SourceFailure, match="larger than"):
        parse_json(b"x" * 2000, 1000)
    with pytest.raises(SourceFailure, match="malformed"):
        parse_json(b"[" * 100_000, 1_000_000)


def test_only_accepted_keys_leave() -> None:
    k = QueryKeys(reference="R1", name="N", dob="1970-01-01", plate="P1")
    assert k.kinds() == ["reference", "name_dob", "plate"]
    assert k.for_kinds(("name_dob",)) == {"name": "N", "dob": "1970-01-01"}
    assert k.for_kinds(("document",)) == {}


def test_http_connector_statuses(http_service: Start) -> None:
    async def ask(url: str, timeout_ms: int = 2000, **kw: Any) -> tuple[str, str]:
        a = await HttpConnector(http_source("s", url, timeout_ms, **kw), 64 * 1024).query(
            outbound()
        )
        return a.status, a.reason

    assert asyncio.run(ask(http_service()))[0] == "hit"
    assert asyncio.run(ask(http_service(fail_rate=1.0))) == ("temporarily_unavailable", "HTTP 503")
    assert asyncio.run(ask(http_service(malformed=True)))[1].startswith("malformed")
    assert "larger than" in asyncio.run(ask(http_service(oversized=True)))[1]
    assert asyncio.run(ask(http_service(delay_s=1.0), timeout_ms=200))[0] == "timeout"
    assert asyncio.run(ask("http://127.0.0.1:9/query"))[0] == "temporarily_unavailable"
    hostile = asyncio.run(
        HttpConnector(http_source("s", http_service(hostile=True)), 64 * 1024).query(outbound())
    )
    assert hostile.status == "error"  # a record without a usable id: the answer is refused


def test_a_query_without_its_accountability_fields_is_refused_by_the_source(
    http_service: Start,
) -> None:
    from fortify.federation.connectors import OutboundQuery

    q = OutboundQuery("q1", {"reference": "SYN-REF-0001"}, "ana", "robbery", "", None)
    a = asyncio.run(HttpConnector(http_source("s", http_service()), 65536).query(q))
    assert (a.status, a.reason) == ("refused", "HTTP 403")
