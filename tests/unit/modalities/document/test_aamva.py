from __future__ import annotations

from datetime import date

import pytest

from fortify.errors import NotAamva
from fortify.modalities.document.aamva import parse_aamva


def payload(version: int, elements: dict[str, str], iin: str = "636014") -> bytes:
    body = "DL" + "".join(f"{k}{v}\n" for k, v in elements.items()) + "\r"
    jur = "00" if version >= 2 else ""
    head_len = 5 + 6 + 2 + len(jur) + 2 + 10 + 4
    head = f"@\n\x1e\rANSI {iin}{version:02d}{jur}01DL{head_len:04d}{len(body):04d}"
    return (head + body).encode()


def test_version_10_payload() -> None:
    r = parse_aamva(
        payload(
            10,
            {
                "DCS": "SAMPLE",
                "DAC": "ALEX",
                "DAD": "J",
                "DBB": "07041990",
                "DBA": "07042030",
                "DAQ": "D1234567",
                "DAJ": "CA",
                "DBC": "1",
                "DCG": "USA",
            },
        ),
        today=date(2026, 1, 1),
    )
    assert r.version == 10 and r.iin == "636014" and r.subfiles == ["DL"]
    f = r.fields
    assert (f["surname"], f["given_names"], f["birth_date"]) == ("SAMPLE", "ALEX J", "1990-07-04")
    assert f["sex"] == "M" and r.valid and not r.flags


def test_version_1_and_canadian_dates() -> None:
    r = parse_aamva(
        payload(1, {"DAA": "SAMPLE,ALEX", "DBB": "19900704", "DBA": "20200704", "DAQ": "X1"}),
        today=date(2026, 1, 1),
    )
    assert r.fields["surname"] == "SAMPLE" and r.fields["birth_date"] == "1990-07-04"
    assert "expired" in r.flags
    c = parse_aamva(payload(8, {"DCS": "S", "DBB": "19900704", "DAQ": "1", "DCG": "CAN"}))
    assert c.fields["birth_date"] == "1990-07-04"


def test_iin_mismatch_and_not_aamva() -> None:
    r = parse_aamva(payload(9, {"DAQ": "1", "DAJ": "NY"}, iin="636014"))
    assert "iin_jurisdiction_mismatch" in r.flags and not r.valid
    with pytest.raises(NotAamva):
        parse_aamva(b"hello world")
