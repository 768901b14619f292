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
    compute_nfiq2: bool = Field(
        default=True,
        description="NFIQ 2 image quality of enrolled prints (a second mindtct pass of the "
        "raw print: ~+150-250 ms per print).",
    )
    probe_nfiq2: bool = Field(
        default=False,
        description="NFIQ 2 of search probes too (off: a probe's quality is the ridge check "
        "and the minutiae count, within the 300 ms extraction budget).",
    )
    index_factory: str = Field(
        default="Flat",
        description="FAISS index of the minutiae codes (~45 per print): 'Flat' up to ~20k "
        "prints, 'IVF1024,Flat|nprobe=32' measured at 100k (docs/finger); "
        "'|neighbours=K' sets the codes each query code retrieves (default 20).",
    )
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
        "edgeface-s-v2",
        "edgeface-s-v1",
        "fused-dlib-sface-v2",
        "fused-dlib-sface-v1",
        "dlib-resnet-v1",
        "sface-2021dec",
        "onnx",
    ] = Field(
        default="edgeface-s-v2",
        description="Embedder: EdgeFace-S aligned from MediaPipe's face mesh (v2, the "
        "default) or from the detector's and dlib's points (v1); dlib ResNet + SFace fused "
        "in one template (fused v2, v1); dlib's ResNet alone, SFace alone, or an "
        "ArcFace-style ONNX file (onnx). The older ones serve galleries not yet re-templated.",
    )
    face_model_path: Path | None = Field(
        default=None, description="The ONNX file when face_model is 'onnx'."
    )
    embed_runtime: Literal["onnx", "dlib"] = Field(
        default="onnx", description="Run the ResNet with onnxruntime (converted locally) or dlib."
    )
    embed_threads: int = Field(default=1, ge=1, le=64)
    detector: Literal["yunet", "hog", "mmod", "cascade"] = Field(
        default="yunet",
        description="yunet: OpenCV-zoo YuNet, the cascade where it finds no face; hog: dlib HOG;"
        " mmod: dlib's CNN (MMOD) run by onnxruntime; cascade: HOG, then the CNN.",
    )
    yunet_score_threshold: float = Field(
        default=0.6, gt=0, lt=1, description="YuNet: lowest face confidence kept."
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

    # governance (use policy, training, transparency)
    policy_file: Path | None = Field(
        default=None, description="Use policy TOML (default: the one shipped in the package)."
    )
    eval_report: Path | None = Field(
        default=None, description="Latest `fortify eval face --json` output for the report."
    )

    # federation (Super Query): record sources, purpose codes, deadline
    federation_config: Path | None = Field(
        default=None,
        description="TOML file of record sources and purpose codes for outbound queries.",
    )

    # fingerprints (FORTIFY_FINGER__* nested, or FingerSettings' own FORTIFY_FINGER_* prefix)
    finger: FingerSettings = Field(default_factory=lambda: FingerSettings())

    # web
    host: str = "127.0.0.1"
    port: int = 8000

    # hardening (issue 8)
    optout_salt_file: Path | None = Field(
        default=None,
        description="Secret salt of opt-out hashes (default: home/optout.salt, mode 0600); "
        "share it between servers that share a database.",
    )
    audit_anchor_external: Path | None = Field(
        default=None,
        description="A second audit anchor file, ideally on another device or host mount.",
    )
    audit_anchor_command: str | None = Field(
        default=None,
        description="A command run after each anchor move; it gets 'SEQ HASH' on stdin "
        "(e.g. to append it to a write-once log).",
    )

    # hardening (tokens, decode budget, docs)
    token_ttl_days: float = Field(
        default=90.0, gt=0, le=3650, description="API tokens expire this long after issue."
    )
    max_probe_pixels: int = Field(
        default=16_000_000,
        ge=65_536,
        description="Most pixels decoded at full resolution per uploaded image (JPEGs are "
        "decoded at a reduced size first, so only their reduced size counts).",
    )
    max_decode_side: int = Field(
        default=4096, ge=512, description="Decoded images are reduced to this longest side."
    )
    large_image_pixels: int = Field(
        default=4_000_000,
        ge=0,
        description="Uploads above this many pixels are processed one slot at a time.",
    )
    large_image_slots: int = Field(default=1, ge=1, le=64)
    large_image_wait_s: float = Field(default=30.0, gt=0, description="Then 503 busy.")
    api_docs: bool = Field(
        default=True, description="Serve /docs (Swagger UI from the pinned local package)."
    )

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
        for p in (
            self.home,
            self.index_dir,
            self.media_dir,
            self.media_dir / "samples",
            self.media_dir / "probes",
        ):
            if not p.is_dir():  # private: 0700 (see fortify.store.files)
                p.mkdir(mode=0o700, parents=True, exist_ok=True)
                p.chmod(0o700)


def make_settings(**overrides: Any) -> Settings:
    """Settings from the environment with explicit overrides on top."""
    return Settings(**overrides)
