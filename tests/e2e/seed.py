"""Seed a Fortify home for the browser tests: gallery, operators, probes, history.

* 10 identities from ``../shared/data/faces/celeba`` enrolled as SYNTHETIC records;
* one operator per role (plus a second officer whose searches fill the history);
* probes picked by score, not by hand: a mated photo (top candidate is its identity,
  also after the trip through the fake camera's Y4M), another photo of the same
  person, a photo of a different enrolled person, and a photo of someone not enrolled
  that scores below the threshold against everyone;
* a few searches spread over past days, a refused search and one retention purge,
  so the history and the oversight dashboard have something to show.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageFilter
from sqlalchemy import select

from fortify.accountability.operators import Operator, create_user, local_operator
from fortify.cli.demo import synthetic_records
from fortify.errors import FortifyError
from fortify.gallery import Gallery
from fortify.modalities.face.engine import Engine
from fortify.store.tables import Encounter, Identity, TemplateRow, utcnow
from fortify.types import Template
from tests.conftest import TEST_THRESHOLD, make_settings, train
from tests.e2e.fakecam import frame_from_photo, frame_from_print, frame_from_prints, write_y4m

log = logging.getLogger(__name__)

People = list[tuple[str, list[Path]]]
ENROLLED = 10
MARGIN = 0.02
FINGER_DATA = (Path(__file__).resolve().parents[2] / ".." / "shared" / "data").resolve()
FINGER_DATA = FINGER_DATA / "fingerprints"
USERS = {
    "officer": ("e2e-officer", "officer"),
    "officer2": ("e2e-officer2", "officer"),
    "supervisor": ("e2e-supervisor", "supervisor"),
    "auditor": ("e2e-auditor", "auditor"),
}


@dataclass
class Seed:
    tokens: dict[str, str]
    users: dict[str, str]
    mated_reference: str
    mated_photo: Path
    same_photo: Path
    other_reference: str
    other_photo: Path
    nonmated_photo: Path
    y4m: Path
    y4m_no_face: Path
    y4m_two_faces: Path
    officer_purpose: str
    y4m_finger: Path | None = None
    finger_reference: str = ""
    y4m_finger_blurred: Path | None = None
    y4m_four: Path | None = None
    """Four prints side by side (FVC2002 DB1_B 101_2..104_2), and variants: three of
    them, and the four blurred."""
    y4m_four_three: Path | None = None
    y4m_four_blurred: Path | None = None

    def to_config(self) -> dict[str, Any]:
        return {
            "tokens": self.tokens,
            "users": self.users,
            "mated_reference": self.mated_reference,
            "mated_photo": str(self.mated_photo),
            "same_photo": str(self.same_photo),
            "other_reference": self.other_reference,
            "other_photo": str(self.other_photo),
            "nonmated_photo": str(self.nonmated_photo),
            "y4m": str(self.y4m),
            "y4m_no_face": str(self.y4m_no_face),
            "y4m_two_faces": str(self.y4m_two_faces),
            "officer_purpose": self.officer_purpose,
            "y4m_finger": str(self.y4m_finger or ""),
            "finger_reference": self.finger_reference,
            "y4m_finger_blurred": str(self.y4m_finger_blurred or ""),
            "y4m_four": str(self.y4m_four or ""),
            "y4m_four_three": str(self.y4m_four_three or ""),
            "y4m_four_blurred": str(self.y4m_four_blurred or ""),
        }


def _vector(engine: Engine, image: Path | np.ndarray[Any, Any]) -> np.ndarray[Any, Any] | None:
    try:
        rgb = engine.load(image) if isinstance(image, Path) else image
        return engine.process(rgb, face="largest").template.vector
    except FortifyError:
        return None


def _enroll(g: Gallery, people: People, op: Operator) -> dict[str, np.ndarray[Any, Any]]:
    """Enrol the first usable photo of each identity; returns reference -> template."""
    chosen = people[:ENROLLED]
    display = synthetic_records([ref for ref, _ in chosen])
    for ref, files in chosen:
        for f in files:
            try:
                g.enroll_image(
                    f,
                    reference=ref,
                    operator=op,
                    source="e2e-synthetic",
                    face="largest",
                    synthetic=True,
                    display_name=display[ref]["display_name"],
                    attributes=display[ref]["attributes"],
                )
                break
            except FortifyError:
                continue
    g.open_index()
    with g.db.session() as s:
        rows = s.execute(
            select(Identity.reference, TemplateRow.data).join(
                TemplateRow, TemplateRow.identity_id == Identity.id
            )
        ).all()
    return {ref: Template.from_bytes(data).vector for ref, data in rows}


def _scores(vec: np.ndarray[Any, Any], gallery: dict[str, np.ndarray[Any, Any]]) -> list[Any]:
    return sorted(((float(vec @ v), ref) for ref, v in gallery.items()), reverse=True)


def _pick_probes(
    engine: Engine, people: People, gallery: dict[str, np.ndarray[Any, Any]], y4m: Path
) -> dict[str, Any]:
    enrolled_files = {ref: files for ref, files in people[:ENROLLED]}
    mated: dict[str, Any] | None = None
    for ref, files in enrolled_files.items():
        if ref not in gallery or len(files) < 3:
            continue
        for probe in files[1:]:
            vec = _vector(engine, probe)
            if vec is None:
                continue
            top = _scores(vec, gallery)
            if top[0][1] != ref or top[0][0] < TEST_THRESHOLD + MARGIN:
                continue
            seen = write_y4m(frame_from_photo(probe), y4m)
            cam_vec = _vector(engine, seen)
            dets = engine.detect(seen)
            if cam_vec is None or len(dets) != 1 or dets[0].quality.warnings:
                continue
            cam_top = _scores(cam_vec, gallery)
            if cam_top[0][1] != ref or cam_top[0][0] < TEST_THRESHOLD + MARGIN:
                continue
            same = next(f for f in files[1:] if f != probe)
            mated = {"reference": ref, "photo": probe, "same": same}
            break
        if mated:
            break
    if mated is None:
        raise RuntimeError("no usable mated probe among the enrolled identities")
    other: tuple[str, Path] | None = None
    for ref, files in enrolled_files.items():
        if ref == mated["reference"] or ref not in gallery:
            continue
        vec = _vector(engine, files[-1])
        if vec is not None and _scores(vec, gallery)[0][1] == ref:
            other = (ref, files[-1])
            break
    nonmated: Path | None = None
    for _ref, files in people[ENROLLED:]:
        vec = _vector(engine, files[0])
        if vec is not None and _scores(vec, gallery)[0][0] < TEST_THRESHOLD - 0.03:
            nonmated = files[0]
            break
    if other is None or nonmated is None:
        raise RuntimeError("could not pick the other / non-mated probes")
    return {"mated": mated, "other": other, "nonmated": nonmated}


def _guidance_cameras(engine: Engine, people: People, work: Path) -> tuple[Path, Path]:
    """Fake cameras showing no face (an empty wall) and two faces (two portraits)."""
    wall = np.full((480, 640, 3), (150, 146, 140), dtype=np.uint8)
    wall[:, :, 0] = np.linspace(120, 190, 640, dtype=np.uint8)[None, :]
    no_face = work / "fake-camera-no-face.y4m"
    seen = write_y4m(wall, no_face)
    assert not engine.detect(seen), "the empty wall shows a face"
    left = frame_from_photo(people[0][1][0], 320, 480)
    right = frame_from_photo(people[1][1][0], 320, 480)
    two = work / "fake-camera-two-faces.y4m"
    seen = write_y4m(np.concatenate([left, right], axis=1), two)
    assert len(engine.detect(seen)) == 2, "the two-portrait frame does not show two faces"
    return no_face, two


def _seed_history(g: Gallery, ops: dict[str, Operator], probes: dict[str, Any]) -> str:
    """Searches over the past days, a refusal and one retention purge."""
    o2 = ops["officer2"]
    plan = [
        (o2, probes["mated"]["same"], "Robbery, Main St, 12 May", "C-2041", 3),
        (o2, probes["nonmated"], "Missing person check", None, 2),
        (o2, probes["other"][1], "Robbery, Main St, 12 May", "C-2041", 1),
        (ops["supervisor"], probes["mated"]["photo"], "Warrant follow-up", "C-1977", 1),
    ]
    officer_purpose = "Traffic stop, Route 9"
    plan.append((ops["officer"], probes["other"][1], officer_purpose, "T-88", 0))
    ids: list[tuple[str, int]] = []
    for op, photo, purpose, case, days_ago in plan:
        r = g.identify(photo, operator=op, purpose=purpose, case_id=case, face="largest")
        ids.append((r["search_id"], days_ago))
    with contextlib.suppress(FortifyError):  # a refusal, recorded in the audit log
        g.identify(probes["mated"]["photo"], operator=o2, purpose="")
    now = utcnow()
    with g.db.transaction() as s:
        for sid, days_ago in ids:
            enc = s.get(Encounter, sid)
            assert enc is not None
            enc.created_at = now - timedelta(days=days_ago, minutes=5)
        first = s.get(Encounter, ids[0][0])
        assert first is not None
        first.retain_until = now - timedelta(hours=1)  # due: purged below
    g.purge_expired()
    return officer_purpose


def _governance(g: Gallery, probes: dict[str, Any]) -> None:
    """A correction recorded against the 'other' record (shown on its candidate cards)."""
    from fortify.governance.subject import record_dispute

    with g.db.session() as s:
        iid = s.scalars(select(Identity.id).where(Identity.reference == probes["other"][0])).one()
    record_dispute(
        g,
        iid,
        operator=local_operator(),
        text="SYNTHETIC: the record's date is disputed",
        kind="dispute",
    )


HAND = (("101", "right-index"), ("102", "right-middle"), ("103", "right-ring"))
HAND += (("104", "right-little"),)


def _fingers(g: Gallery, probes: dict[str, Any], work: Path) -> Path | None:
    """FVC2002 DB1_B 101_1..104_1 (right index, middle, ring, little) on the mated record,
    105_1 (right index) on the other; cameras showing 101_2 (finger mode) and 101_2..104_2
    side by side (four-finger mode). None without the fingerprint data."""
    db1 = FINGER_DATA / "fvc2002" / "DB1_B"
    if not (db1 / "101_2.png").is_file():
        return None
    mated = probes["mated"]["reference"]
    prints = [(f"{f}_1", mated, pos) for f, pos in HAND]
    for name, ref, pos in [*prints, ("105_1", probes["other"][0], "right-index")]:
        g.enroll_image(
            db1 / f"{name}.png",
            reference=ref,
            operator=local_operator(),
            modality="finger",
            finger_position=pos,
            source="e2e-synthetic",
            synthetic=True,
        )
    four = frame_from_prints([db1 / f"{f}_2.png" for f, _ in HAND])
    write_y4m(four, work / "fake-camera-four.y4m")
    three = frame_from_prints([db1 / f"{f}_2.png" for f, _ in HAND[:3]])
    write_y4m(three, work / "fake-camera-four-three.y4m")
    blurred4 = Image.fromarray(four).filter(ImageFilter.GaussianBlur(3))
    write_y4m(np.asarray(blurred4, dtype=np.uint8), work / "fake-camera-four-blurred.y4m")
    y4m = work / "fake-camera-finger.y4m"
    frame = frame_from_print(db1 / "101_2.png")
    write_y4m(frame, y4m)
    blurred = Image.fromarray(frame).filter(ImageFilter.GaussianBlur(3))
    write_y4m(np.asarray(blurred, dtype=np.uint8), work / "fake-camera-finger-blurred.y4m")
    return y4m


def seed_home(home: Path, work: Path, engine: Engine, people: People) -> Seed:
    g = Gallery(make_settings(home), engine=engine)
    train(g, local_operator().name)
    try:
        gallery = _enroll(g, people, local_operator())
        y4m = work / "fake-camera.y4m"
        probes = _pick_probes(engine, people, gallery, y4m)
        tokens: dict[str, str] = {}
        ops: dict[str, Operator] = {}
        with g.write() as s:
            for key, (name, role) in USERS.items():
                _, tokens[key] = create_user(s, name, role)
                ops[key] = Operator(name=name, role=role)
            _, tokens["untrained"] = create_user(s, "e2e-untrained", "officer")
        train(g, *(name for name, _ in USERS.values()))  # may search (governance)
        _governance(g, probes)
        officer_purpose = _seed_history(g, ops, probes)
        no_face, two_faces = _guidance_cameras(engine, people, work)
        y4m_finger = _fingers(g, probes, work)
    finally:
        g.close()
    return Seed(
        tokens=tokens,
        users={k: v[0] for k, v in USERS.items()},
        mated_reference=probes["mated"]["reference"],
        mated_photo=probes["mated"]["photo"],
        same_photo=probes["mated"]["same"],
        other_reference=probes["other"][0],
        other_photo=probes["other"][1],
        nonmated_photo=probes["nonmated"],
        y4m=y4m,
        y4m_no_face=no_face,
        y4m_two_faces=two_faces,
        officer_purpose=officer_purpose,
        y4m_finger=y4m_finger,
        finger_reference=probes["mated"]["reference"] if y4m_finger else "",
        y4m_finger_blurred=work / "fake-camera-finger-blurred.y4m" if y4m_finger else None,
        y4m_four=work / "fake-camera-four.y4m" if y4m_finger else None,
        y4m_four_three=work / "fake-camera-four-three.y4m" if y4m_finger else None,
        y4m_four_blurred=work / "fake-camera-four-blurred.y4m" if y4m_finger else None,
    )
