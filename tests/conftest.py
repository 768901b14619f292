"""Shared fixtures: settings factory, real photos from ../shared/data, a prepared engine.

Training (governance): every search needs a valid training record of its operator
(``training_required`` otherwise). The ``gallery`` and ``enrolled`` fixtures train the
local admin (``local_operator()``); ``add_user(g, name, role)`` trains the new operator
unless ``trained=False``; ``train(g, name, ...)`` trains anyone else (also operators
built in a test with ``Operator(name, role)``); ``train_local(home)`` trains the local
account of a home the CLI uses (``fortify --home H identify ...`` without a token).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from fortify.accountability.operators import Operator, create_user, local_operator
from fortify.config import Settings
from fortify.gallery import Gallery
from fortify.modalities.face.engine import Engine

ROOT = Path(__file__).resolve().parent.parent
CELEBA = (ROOT / ".." / "shared" / "data" / "faces" / "celeba").resolve()


def celeba_identities(n: int, min_images: int = 2) -> list[tuple[str, list[Path]]]:
    """The first ``n`` identities (sorted) with at least ``min_images`` photos."""
    if not CELEBA.is_dir():
        pytest.skip(f"evaluation data not found at {CELEBA}")
    out = []
    for d in sorted(CELEBA.iterdir()):
        files = sorted(d.glob("*.jpg"))
        if len(files) >= min_images:
            out.append((d.name, files))
        if len(out) == n:
            break
    return out


TEST_THRESHOLD = 0.12  # small test galleries (EdgeFace cosines): mated searches stay above it


def make_settings(home: Path, **overrides: Any) -> Settings:
    overrides.setdefault("match_threshold", TEST_THRESHOLD)
    return Settings(home=home, **overrides)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's ~/.fortify or token; CLI tests get the test threshold."""
    for var in ("FORTIFY_HOME", "FORTIFY_TOKEN", "FORTIFY_DATABASE_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("FORTIFY_MATCH_THRESHOLD", str(TEST_THRESHOLD))
    monkeypatch.setenv("HOME", str(tmp_path / "user-home"))


@pytest.fixture(scope="session")
def engine() -> Engine:
    return Engine(Settings()).prepare()


@pytest.fixture(scope="session")
def people() -> list[tuple[str, list[Path]]]:
    return celeba_identities(20)


@pytest.fixture
def admin() -> Operator:
    return local_operator()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "home")


def train(g: Gallery, *names: str, course: str = "TEST-COURSE", days: int = 365) -> None:
    """Record a valid training attestation for each operator name (test helper)."""
    from datetime import date, timedelta

    from fortify.store.tables import TrainingRecord

    today = date.today()
    with g.write() as s:
        for name in names:
            s.add(
                TrainingRecord(
                    operator=name,
                    course=course,
                    completed_on=(today - timedelta(days=1)).isoformat(),
                    expires_on=(today + timedelta(days=days)).isoformat(),
                    recorded_by="tests",
                )
            )


def train_local(home: Path, **overrides: Any) -> None:
    """Train the local OS account in the gallery at ``home`` (for CLI tests)."""
    g = Gallery(make_settings(home, **overrides))
    try:
        train(g, local_operator().name)
    finally:
        g.close()


@pytest.fixture
def gallery(settings: Settings, engine: Engine) -> Iterator[Gallery]:
    g = Gallery(settings, engine=engine)
    train(g, local_operator().name)
    yield g
    g.close()


@pytest.fixture(scope="session")
def enrolled_home(
    tmp_path_factory: pytest.TempPathFactory, engine: Engine, people: list[tuple[str, list[Path]]]
) -> Path:
    """A home with 20 identities enrolled (the first image of each) — copy before mutating."""
    home = tmp_path_factory.mktemp("enrolled") / "home"
    g = Gallery(make_settings(home), engine=engine)
    op = local_operator()
    train(g, op.name)
    for ref, files in people:
        g.enroll_image(files[0], reference=ref, operator=op, face="largest", source="test")
    g.open_index()
    g.close()
    return home


@pytest.fixture
def enrolled(tmp_path: Path, enrolled_home: Path, engine: Engine) -> Iterator[Gallery]:
    home = tmp_path / "home"
    shutil.copytree(enrolled_home, home)
    g = Gallery(make_settings(home), engine=engine)
    g.open_index()
    yield g
    g.close()


def add_user(g: Gallery, name: str, role: str, trained: bool = True) -> str:
    """Create an operator and return its token; trained (may search) unless told not."""
    with g.write() as s:
        _, token = create_user(s, name, role)
    if trained:
        train(g, name)
    return token


def jpeg_bytes(arr: np.ndarray[Any, Any]) -> bytes:
    import io

    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG")
    return buf.getvalue()


def two_faces(a: Path, b: Path) -> bytes:
    """A synthetic group photo: two portraits side by side."""
    ia = Image.open(a).convert("RGB")
    ib = Image.open(b).convert("RGB").resize(ia.size)
    canvas = Image.new("RGB", (ia.width * 2, ia.height))
    canvas.paste(ia, (0, 0))
    canvas.paste(ib, (ia.width, 0))
    import io

    buf = io.BytesIO()
    canvas.save(buf, format="JPEG")
    return buf.getvalue()


def blank_image(w: int = 320, h: int = 240) -> bytes:
    """A plain gradient with no face in it."""
    x = np.linspace(0, 255, w, dtype=np.uint8)
    arr = np.tile(x, (h, 1))
    return jpeg_bytes(np.stack([arr, arr, arr], axis=-1))


def side_by_side(prints: list[Path], gap: int = 16, paper: int = 250) -> np.ndarray[Any, Any]:
    """Grey prints at their own scale in a row on white paper (a four-finger slap)."""
    ims = [np.asarray(Image.open(p).convert("L"), dtype=np.uint8) for p in prints]
    h = max(i.shape[0] for i in ims) + 2 * gap
    w = sum(i.shape[1] for i in ims) + (len(ims) + 1) * gap
    h, w = h + h % 2, w + w % 2  # even sides (a Y4M frame)
    out = np.full((h, w), paper, np.uint8)
    x = gap
    for i in ims:
        out[gap : gap + i.shape[0], x : x + i.shape[1]] = i
        x += i.shape[1] + gap
    return out
