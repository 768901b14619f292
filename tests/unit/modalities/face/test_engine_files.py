"""Engine.prepare_files: the converted model files, made once before workers start."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from fortify.config import Settings
from fortify.modalities.base import PreparesFiles
from fortify.modalities.face.engine import Engine
from fortify.modalities.face.modality import FaceModality
from fortify.modalities.face.sface import PREPARE_VERSION


def test_default_engine_converts_only_the_fallback_detector(tmp_path: Path) -> None:
    eng = Engine(Settings(home=tmp_path))  # EdgeFace's file is used as shipped
    eng.prepare_files()
    assert eng._extractor is None and eng._detector is None
    names = sorted(p.name for p in (tmp_path / "models").glob("*.onnx"))
    assert [n.split("-")[0] for n in names] == ["dlib_mmod_face"]


def test_fused_engine_prepares_every_file_and_loads_nothing(tmp_path: Path) -> None:
    eng = Engine(Settings(home=tmp_path, face_model="fused-dlib-sface-v2"))
    assert isinstance(FaceModality(eng), PreparesFiles)
    eng.prepare_files()
    assert eng._extractor is None and eng._detector is None  # nothing loaded
    names = sorted(p.name for p in (tmp_path / "models").glob("*.onnx"))
    assert [n.split("-")[0] for n in names] == ["dlib_mmod_face", "dlib_resnet_v1", "sface_2021dec"]
    assert any(n.endswith(f"-p{PREPARE_VERSION}.onnx") for n in names)
    stamps = {p: p.stat().st_mtime_ns for p in (tmp_path / "models").iterdir()}
    eng.prepare_files()  # idempotent: the files are reused, not rewritten
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "models").iterdir()} == stamps
    eng.prepare()  # and prepare() finds them ready
    assert sorted(p.name for p in (tmp_path / "models").glob("*.onnx")) == names


def test_hog_dlib_configuration_needs_no_file(tmp_path: Path) -> None:
    Engine(
        Settings(home=tmp_path, detector="hog", embed_runtime="dlib", face_model="dlib-resnet-v1")
    ).prepare_files()
    assert not (tmp_path / "models").exists() or not any((tmp_path / "models").iterdir())


def test_every_shipped_model_is_described_without_loading(tmp_path: Path) -> None:
    from typing import get_args

    from fortify.modalities.face.engine import SHIPPED_MODELS

    choices = set(get_args(Settings.model_fields["face_model"].annotation)) - {"onnx"}
    assert set(SHIPPED_MODELS) == choices
    for name, (dim, _, _) in SHIPPED_MODELS.items():
        eng = Engine(Settings(home=tmp_path, face_model=name))  # type: ignore[arg-type]
        assert eng.model_spec() == (name, dim)
        assert eng._extractor is None


def test_every_shipped_models_version_fits_the_templates_column(tmp_path: Path) -> None:
    from sqlalchemy import String

    from fortify.modalities.face.engine import SHIPPED_MODELS
    from fortify.store.tables import TemplateRow

    column = TemplateRow.__table__.c.model_version.type
    assert isinstance(column, String) and column.length
    width = column.length  # PostgreSQL enforces it
    for name in SHIPPED_MODELS:
        eng = Engine(Settings(home=tmp_path, face_model=name)).prepare()  # type: ignore[arg-type]
        assert len(eng.extractor.model_version) <= width, name
