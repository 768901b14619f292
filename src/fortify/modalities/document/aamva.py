"""AAMVA DL/ID card design standard: parse the PDF417 payload (versions 1 to 12).

Layout: compliance indicator ``@``, data element separator LF, record separator RS, segment
terminator CR, file type ``ANSI `` (``AAMVA`` in some version-1 cards), the issuer
identification number (IIN, 6 digits), AAMVA version (2), jurisdiction version (2, from
version 2 on), number of subfiles (2), then 10-character subfile designators (type, offset,
length). Each subfile starts with its type (``DL``, ``ID``, ``Z?``) and holds elements: a
three-letter ID followed by the value, separated by LF.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from fortify.errors import NotAamva

ELEMENTS = {
    "DCA": "vehicle_class",
    "DCB": "restrictions",
    "DCD": "endorsements",
    "DBA": "expiry_date",
    "DCS": "surname",
    "DAC": "first_name",
    "DAD": "middle_names",
    "DCT": "given_names",
    "DAB": "surname",
    "DAA": "full_name",
    "DBD": "issue_date",
    "DBB": "birth_date",
    "DBC": "sex",
    "DAY": "eye_color",
    "DAU": "height",
    "DAG": "street",
    "DAH": "street_2",
    "DAI": "city",
    "DAJ": "jurisdiction",
    "DAK": "postal_code",
    "DAQ": "document_number",
    "DCF": "document_discriminator",
    "DCG": "country",
    "DDE": "surname_truncated",
    "DDF": "first_name_truncated",
    "DDG": "middle_truncated",
    "DAZ": "hair_color",
    "DCI": "birth_place",
    "DCK": "inventory_control",
    "DDA": "compliance",
    "DDB": "revision_date",
    "DDK": "organ_donor",
    "DDL": "veteran",
    "DAW": "weight_lb",
}
DATE_ELEMENTS = ("DBA", "DBB", "DBD", "DDB")
# IINs whose jurisdiction is checked against DAJ (AAMVA's published IIN list).
KNOWN_IIN = {"636000": "VA", "636001": "NY", "636010": "FL", "636014": "CA", "636015": "TX"}
HEADER = re.compile(rb"@\n?\x1e?\r?(ANSI |AAMVA)(\d{6})(\d{2})(\d{2})?(\d{2})")


@dataclass
class AamvaReading:
    version: int
    jurisdiction_version: int | None
    iin: str
    subfiles: list[str]
    elements: dict[str, str]
    fields: dict[str, Any]
    flags: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not any(f.startswith(("invalid", "iin")) for f in self.flags)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["valid"] = self.valid
        d["format"] = f"AAMVA v{self.version}"
        return d


def _date(raw: str, country: str, version: int) -> date | None:
    raw = raw.strip()
    if len(raw) != 8 or not raw.isdigit():
        return None
    orders = [(0, 4, 6), (4, 0, 2)]  # CCYYMMDD / MMDDCCYY (year, month, day offsets)
    if version >= 2 and country != "CAN":
        orders.reverse()
    for y, m, d in orders:
        try:
            return date(int(raw[y : y + 4]), int(raw[m : m + 2]), int(raw[d : d + 2]))
        except ValueError:
            continue
    return None


def parse_aamva(payload: bytes, today: date | None = None) -> AamvaReading:
    today = today or date.today()
    head = HEADER.search(payload[:64])
    if head is None or not payload.lstrip().startswith(b"@"):
        raise NotAamva("the barcode does not hold an AAMVA DL/ID payload")
    iin = head.group(2).decode()
    version = int(head.group(3))
    if version < 2 and head.group(5) is not None and head.group(4) is not None:
        # version 1 has no jurisdiction version: the 4 digits after it are entries + "DL"
        jver = None
        entries = int(head.group(4))
        pos = head.end(4)
    else:
        jver = int(head.group(4)) if head.group(4) else None
        entries = int(head.group(5))
        pos = head.end(5)
    if not 0 <= version <= 12 or entries == 0:
        raise NotAamva(f"AAMVA header with version {version} and {entries} subfiles")
    subfiles: list[str] = []
    bodies: list[bytes] = []
    for i in range(entries):
        des = payload[pos + 10 * i : pos + 10 * i + 10]
        if len(des) < 10 or not des[2:].isdigit():
            break
        kind = des[:2].decode("latin-1")
        off, length = int(des[2:6]), int(des[6:10])
        body = payload[off : off + length]
        if not body.startswith(des[:2]):  # offsets are often wrong: find the type instead
            at = payload.find(des[:2], pos + 10 * entries)
            body = payload[at:] if at >= 0 else b""
        subfiles.append(kind)
        bodies.append(body[2:])
    elements: dict[str, str] = {}
    for body in bodies:
        for part in re.split(rb"[\n\r\x1e]", body):
            text = part.decode("latin-1").strip()
            if len(text) >= 3 and text[:3].isalpha() and text[:3].isupper():
                elements.setdefault(text[:3], text[3:].strip())
    if "DAQ" not in elements:
        raise NotAamva("AAMVA header but no document number (DAQ)")
    return _reading(version, jver, iin, subfiles, elements, today)


def _reading(
    version: int,
    jver: int | None,
    iin: str,
    subfiles: list[str],
    elements: dict[str, str],
    today: date,
) -> AamvaReading:
    country = elements.get("DCG", "USA")
    fields: dict[str, Any] = {}
    flags: list[str] = []
    for eid, name in ELEMENTS.items():
        if eid in elements and name not in fields:
            fields[name] = elements[eid]
    if "full_name" in fields and "surname" not in fields:  # version 1: DAA "LAST,FIRST,MIDDLE"
        parts = re.split(r"[,$]", fields["full_name"])
        fields["surname"] = parts[0].strip()
        fields["first_name"] = parts[1].strip() if len(parts) > 1 else ""
    if "given_names" in fields and "first_name" not in fields:  # versions 2-3: DCT
        given = fields["given_names"].replace(",", " ").split()
        fields["first_name"] = given[0] if given else ""
        fields["middle_names"] = " ".join(given[1:])
    for eid in DATE_ELEMENTS:
        if eid in elements:
            d = _date(elements[eid], country, version)
            fields[ELEMENTS[eid]] = d.isoformat() if d else None
            if d is None:
                flags.append(f"invalid_{ELEMENTS[eid]}")
    sex = elements.get("DBC", "")
    fields["sex"] = {"1": "M", "2": "F", "M": "M", "F": "F"}.get(sex, "X")
    if fields.get("expiry_date") and fields["expiry_date"] < today.isoformat():
        flags.append("expired")
    if not (iin.isdigit() and iin[:3] in ("636", "604")):
        flags.append("iin_not_aamva")
    elif iin in KNOWN_IIN and elements.get("DAJ") and KNOWN_IIN[iin] != elements["DAJ"]:
        flags.append("iin_jurisdiction_mismatch")
    fields["document_number"] = elements["DAQ"]
    fields["given_names"] = " ".join(
        x for x in (fields.get("first_name", ""), fields.get("middle_names", "")) if x
    )
    return AamvaReading(version, jver, iin, subfiles, elements, fields, flags)
