"""An operator-provided ArcFace-style ONNX model, end to end through the gallery."""

from __future__ import annotations

from pathlib import Path

import pytest

from fortify.accountability.operators import Operator
from fortify.errors import ConfigError
from fortify.gallery import Gallery
from fortify.modalities.face.engine import Engine
from tests.conftest import make_settings, train
from tests.unit.modalities.face.test_arcface_onnx import build_model

pytestmark = pytest.mark.slow
People = list[tuple[str, list[Path]]]


def test_gallery_with_operator_onnx_model(tmp_path: Path, people: People, admin: Operator) -> None:
    model = build_model(tmp_path / "tiny-arcface.onnx")
    s = make_settings(
        tmp_path / "home", face_model="onnx", face_model_path=model, match_threshold=-1.0
    )
    g = Gallery(s, engine=Engine(s))
    train(g, admin.name)
    assert g.index.model_id != "dlib-resnet-v1" and g.index.dim == g.engine.extractor.dim
    for ref, files in people[:3]:
        g.enroll_image(files[0], reference=ref, operator=admin, face="largest")
    r = g.identify(people[0][1][0], operator=admin, purpose="test: custom model", face="largest")
    assert r["model"] == g.index.model_id
    assert r["candidates"][0]["reference"] == people[0][0]  # its own enrolment photo
    assert r["candidates"][0]["score"] == pytest.approx(1.0, abs=1e-4)
    g.close()


def test_uncalibrated_model_needs_a_threshold(
    tmp_path: Path, people: People, admin: Operator
) -> None:
    model = build_model(tmp_path / "tiny-arcface.onnx")
    s = make_settings(
        tmp_path / "home", face_model="onnx", face_model_path=model, match_threshold=None
    )
    g = Gallery(s, engine=Engine(s))
    train(g, admin.name)
    g.enroll_image(people[0][1][0], reference="a", operator=admin, face="largest")
    with pytest.raises(ConfigError, match="calibration"):
        g.identify(people[0][1][1], operator=admin, purpose="test: uncalibrated", face="largest")
    g.close()
