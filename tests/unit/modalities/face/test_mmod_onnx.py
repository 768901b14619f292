"""dlib's CNN (MMOD) face detector run by onnxruntime: parsing, geometry, equality with dlib."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fortify.modalities.face import mmod_pyramid as mp
from fortify.modalities.face.weights import weights_path

ROOT = Path(__file__).resolve().parents[4]
CELEBA = (ROOT / ".." / "shared" / "data" / "faces" / "celeba").resolve()
# Photos dlib's HOG detector (upsample 1) finds no face in, but the CNN does at upsample 0.
HOG_MISSES = ("7202/035829.jpg", "7202/131566.jpg")
SCORE_TOLERANCE = 1e-3


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mmod-onnx")


@pytest.fixture(scope="module")
def onnx_detector(cache: Path) -> Any:
    from fortify.modalities.face.mmod_onnx import OnnxMmodDetector

    return OnnxMmodDetector(cache)


def _photo(rel: str) -> np.ndarray[Any, Any]:
    from fortify.imaging import load_image

    path = CELEBA / rel
    if not path.is_file():
        pytest.skip(f"evaluation photo not found: {path}")
    return load_image(path)


def _sample_photos(n: int) -> list[np.ndarray[Any, Any]]:
    if not CELEBA.is_dir():
        pytest.skip(f"evaluation data not found at {CELEBA}")
    dirs = sorted(d for d in CELEBA.iterdir() if d.is_dir())
    rels = [str(sorted(d.glob("*.jpg"))[0].relative_to(CELEBA)) for d in dirs[:: len(dirs) // n]]
    return [_photo(r) for r in rels[:n]]


# --- the weights file and the geometry, no photos --------------------------------------


def test_real_file_parses_to_the_mmod_net() -> None:
    from fortify.modalities.face import dlib_serial as ds
    from fortify.modalities.face.mmod_onnx import read_mmod_net

    net = read_mmod_net(weights_path("mmod").read_bytes())
    assert net.windows == ((80, 80),)
    assert net.nms_iou == pytest.approx(0.3383, abs=1e-4) and net.nms_covered == 1.0
    assert net.avg == pytest.approx((122.782, 117.001, 104.298), abs=1e-3)
    assert (net.padding, net.outer_padding) == (10, 11)
    convs = [d for d in net.layers if isinstance(d, ds.Conv)]
    assert [c.weight.shape[0] for c in convs] == [16, 32, 32, 45, 45, 45, 1]
    assert net.output_to_input() == (8.0, 14.0)  # three stride-2 5x5 convs, no padding


def test_tiled_layout_holds_every_level_without_overlap() -> None:
    layout = mp.tiled_layout(400, 267)
    sizes = mp.level_sizes(400, 267)
    assert sizes[1] == (333, 222) and sizes[-1][0] >= mp.MIN_LEVEL_ROWS
    assert len(layout.rects) == len(sizes)
    for (left, top, right, bottom), (h, w) in zip(layout.rects, sizes, strict=True):
        assert (bottom - top + 1, right - left + 1) == (h, w)
        assert left >= 11 and top >= 11 and right < layout.nc - 11 and bottom < layout.nr - 11
    for i, one in enumerate(layout.rects):
        for other in layout.rects[i + 1 :]:
            assert not mp._intersects(one, other)


def test_bilinear_resize_keeps_linear_ramps() -> None:
    yy, xx = np.mgrid[0:60, 0:50].astype(np.float32)
    src = np.stack([xx, yy, 0.5 * xx + 0.25 * yy])
    out = mp.resize_planes(src, 50, 41)
    ys = np.linspace(0, 59, 50, dtype=np.float64)[:, None]
    xs = np.linspace(0, 49, 41, dtype=np.float64)[None, :]
    np.testing.assert_allclose(out[0], np.broadcast_to(xs, (50, 41)), atol=2e-4)
    np.testing.assert_allclose(out[1], np.broadcast_to(ys, (50, 41)), atol=2e-4)
    np.testing.assert_allclose(out[2], 0.5 * xs + 0.25 * ys, atol=2e-4)


def test_nms_uses_dlibs_overlap_rule() -> None:
    a = (0, 0, 79, 79)
    assert mp.boxes_overlap(a, (30, 0, 109, 79), 0.338, 1.0)  # 4000 / 8800
    assert not mp.boxes_overlap(a, (60, 0, 139, 79), 0.338, 1.0)  # 1600 / 11200
    # the "union" is the pair's bounding box: IoU 3364 / 9436 = 0.357, but 3364 / 10404
    assert not mp.boxes_overlap(a, (22, 22, 101, 101), 0.338, 1.0)
    assert mp.boxes_overlap(a, (10, 10, 29, 29), 0.338, 1.0) is False  # covered exactly 100%
    assert mp.boxes_overlap(a, (10, 10, 29, 29), 0.338, 0.99)
    kept = mp.suppress([(a, 2.0), ((5, 5, 84, 84), 1.0), ((200, 0, 279, 79), 0.5)], 0.338, 1.0)
    assert [r for r, _ in kept] == [a, (200, 0, 279, 79)]


def test_onnx_file_is_cached_by_weights_digest(cache: Path, onnx_detector: Any) -> None:
    from fortify.modalities.face.mmod_onnx import cached_onnx
    from fortify.modalities.face.weights import file_digest

    path = cached_onnx(weights_path("mmod"), cache)
    assert path == onnx_detector.onnx_path and path.is_file()
    assert file_digest(weights_path("mmod"))[:16] in path.name


def test_blank_image_has_no_face(cache: Path) -> None:
    from fortify.modalities.face.mmod_onnx import CascadeFaceDetector, MmodFaceDetector

    blank = np.full((240, 320, 3), 128, dtype=np.uint8)
    assert MmodFaceDetector(cache_dir=cache).detect(blank) == []
    assert CascadeFaceDetector(cache_dir=cache).detect(blank) == []


def test_images_smaller_than_the_network_window(onnx_detector: Any) -> None:
    noise = np.random.default_rng(0).integers(0, 256, (40, 40, 3), dtype=np.uint8)
    for h, w in [(0, 5), (1, 1), (5, 40), (40, 5), (12, 12), (40, 40)]:
        assert onnx_detector(noise[:h, :w], 0) == []
    assert onnx_detector(noise[:3, :3], 1) == []


# --- real photos -----------------------------------------------------------------------


def _dlib_boxes(img: np.ndarray[Any, Any], upsample: int) -> list[tuple[tuple[int, ...], float]]:
    import dlib

    net = dlib.cnn_face_detection_model_v1(str(weights_path("mmod")))
    return [
        ((d.rect.left(), d.rect.top(), d.rect.right(), d.rect.bottom()), d.confidence)
        for d in net(img, upsample)
    ]


def _assert_same(mine: list[Any], ref: list[tuple[tuple[int, ...], float]]) -> None:
    assert len(mine) == len(ref)
    for m, (rect, score) in zip(mine, ref, strict=True):
        assert max(abs(a - b) for a, b in zip(m.rect, rect, strict=True)) <= 1
        assert abs(m.confidence - score) < SCORE_TOLERANCE


@pytest.mark.slow
def test_equals_dlibs_cnn_detector_on_real_photos(onnx_detector: Any) -> None:
    photos = [*_sample_photos(3), _photo(HOG_MISSES[0])]
    n_faces = 0
    for img in photos:
        ref = _dlib_boxes(img, 0)
        _assert_same(onnx_detector(img, 0), ref)
        n_faces += len(ref)
    assert n_faces >= 2


@pytest.mark.slow
def test_equals_dlibs_cnn_detector_with_upsampling(onnx_detector: Any) -> None:
    img = _photo(HOG_MISSES[1])[::2, ::2].copy()  # small: dlib takes seconds at upsample 1
    ref = _dlib_boxes(img, 1)
    assert ref
    _assert_same(onnx_detector(img, 1), ref)


@pytest.mark.slow
def test_finds_faces_hog_misses(cache: Path) -> None:
    from fortify.modalities.face.dlib_backend import DlibFaceDetector
    from fortify.modalities.face.mmod_onnx import CascadeFaceDetector, MmodFaceDetector

    hog = DlibFaceDetector(upsample=1)
    mmod = MmodFaceDetector(upsample=0, cache_dir=cache)
    cascade = CascadeFaceDetector(upsample=0, cache_dir=cache)
    for rel in HOG_MISSES:
        img = _photo(rel)
        assert hog.detect(img) == []
        found = mmod.detect(img)
        assert len(found) == 1
        det = found[0]
        assert det.chip is not None and det.chip.shape == (150, 150, 3)
        assert len(det.landmarks) == 5 and det.confidence > 0
        assert det.bbox.w > 60 and det.quality.face_px > 60
        assert [d.bbox for d in cascade.detect(img)] == [det.bbox]


@pytest.mark.slow
def test_cascade_hog_stages_equal_the_hog_detector(cache: Path) -> None:
    from fortify.modalities.face.dlib_backend import DlibFaceDetector
    from fortify.modalities.face.mmod_onnx import CascadeFaceDetector

    photos = _sample_photos(2)
    hog = DlibFaceDetector(upsample=1)
    cascade = CascadeFaceDetector(cache_dir=cache)  # HOG upsample 1, then CNN upsample 1
    fast = CascadeFaceDetector(hog_upsample=(0, 1), cache_dir=cache)
    for img in photos:
        expect = hog.detect(img)
        assert expect
        assert cascade.detect(img) == expect
        got = fast.detect(img)  # HOG upsample 0 found it: a box on another pyramid scale
        assert len(got) == len(expect)
        drift = np.abs(np.subtract(got[0].landmarks, expect[0].landmarks)).max()
        assert drift <= 4
