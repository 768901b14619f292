"""Every FAISS factory behind the same port: exactness, deletions, persistence, training."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from fortify.errors import IndexError_
from fortify.index import create_index, load_index
from fortify.index.factory import parse_factory, partition_caveat, structure
from fortify.index.faiss_backend import FaissIndex
from fortify.index.recall import recall_at
from fortify.index.rerank import read_container

F32 = npt.NDArray[np.float32]
DIM = 32
FACTORIES = [
    "Flat",
    "HNSW16",
    "IVF16,Flat|nprobe=16",
    "IVF16,PQ8x4,RFlat|nprobe=8,rerank=64",
    "IDMap2,IVF16,PQ8x4,RFlat|nprobe=8,rerank=64",
]


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """FAISS's OpenMP threads spin badly on a busy 2-core box; one thread is faster."""
    import faiss

    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    yield
    faiss.omp_set_num_threads(before)


def _unit(x: np.ndarray) -> F32:  # type: ignore[type-arg]
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _gallery(n: int = 4000, seed: int = 0) -> tuple[F32, F32]:
    """Identities with a few noisy samples each, and a mated probe per identity."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n // 4, DIM))
    who = np.repeat(np.arange(n // 4), 4)
    x = _unit(centres[who] + 0.35 * rng.normal(size=(n, DIM)))
    m = min(200, n // 4)
    q = _unit(centres[:m] + 0.35 * rng.normal(size=(m, DIM)))
    return x, q


def _built(factory: str, x: F32, ids: np.ndarray) -> FaissIndex:  # type: ignore[type-arg]
    idx = create_index(DIM, factory)
    assert isinstance(idx, FaissIndex)
    idx.train(x)
    idx.add_with_ids(x, ids)
    return idx


def test_parse_factory() -> None:
    s = parse_factory("IDMap2,IVF4096,PQ32,RFlat|nprobe=24,rerank=100")
    assert (s.faiss, s.rerank, s.params, s.nlist) == (
        "IVF4096,PQ32",
        True,
        {"nprobe": 24, "rerank": 100},
        4096,
    )
    assert structure("IVF64,PQ8,RFlat|nprobe=3") == structure("IVF64,PQ8,RFlat")
    assert structure("IVF64,PQ8,RFlat") != structure("IVF64,PQ8")
    for bad in ("IVF64,PQ8|nprobe", "Flat|k=3", "Flat|nprobe=x", "RFlat", "Flat|rerank=0"):
        with pytest.raises(IndexError_):
            parse_factory(bad)


@pytest.mark.parametrize("factory", FACTORIES)
def test_matches_exact_search(factory: str) -> None:
    x, q = _gallery()
    ids = np.arange(len(x), dtype=np.int64) * 7 + 3
    ref = create_index(DIM, "Reference")
    ref.add_with_ids(x, ids)
    idx = _built(factory, x, ids)
    assert idx.ntotal == len(x)
    d_ref, i_ref = ref.search(q, 10)
    d, i = idx.search(q, 10)
    assert recall_at(i_ref, i, 1) >= 0.95
    top_ok = i[:, 0] == i_ref[:, 0]
    if factory == "Flat" or "RFlat" in factory:  # exact scores for every returned id
        np.testing.assert_allclose(d[top_ok, 0], d_ref[top_ok, 0], atol=1e-5)


@pytest.mark.parametrize("factory", FACTORIES)
def test_deleted_never_returned_and_survives_reload(factory: str, tmp_path: Path) -> None:
    x, q = _gallery()
    ids = np.arange(len(x), dtype=np.int64)
    idx = _built(factory, x, ids)
    _, before = idx.search(q, 10)
    gone = np.unique(before[:, :3])  # the best hits: the hardest to hide
    assert idx.remove_ids(gone) == len(gone)
    assert idx.remove_ids(gone) == 0
    assert idx.ntotal == len(x) - len(gone)
    _, after = idx.search(q, 10)
    assert not np.isin(after, gone).any()
    idx.save(tmp_path / "a.index")
    back = load_index(tmp_path / "a.index", DIM, factory)
    assert back.ntotal == idx.ntotal
    _, loaded = back.search(q, 10)
    assert not np.isin(loaded, gone).any()
    np.testing.assert_array_equal(loaded[:, :5], after[:, :5])
    # incremental adds after a load, re-adding a removed id (idempotent replay)
    back.add_with_ids(x[:1], ids[:1])
    back.remove_ids(ids[:1])
    back.add_with_ids(x[:1], ids[:1])
    d, i = back.search(x[:1], 3)
    assert i[0, 0] == 0 and d[0, 0] > 0.99 and (i[0] == 0).sum() == 1
    back.save(tmp_path / "a.index")  # overwrite the file it maps
    again = load_index(tmp_path / "a.index", DIM, factory)
    assert again.ntotal == back.ntotal
    assert again.search(x[:1], 1)[1][0, 0] == 0


def test_deleted_template_zeroed_on_disk(tmp_path: Path) -> None:
    x, _ = _gallery(400)
    idx = _built("Flat", x, np.arange(400, dtype=np.int64))
    idx.remove_ids(np.array([5], dtype=np.int64))
    idx.save(tmp_path / "f.index")
    raw = np.fromfile(tmp_path / "f.index", dtype=np.uint8)
    needle = np.ascontiguousarray(x[5]).view(np.uint8)
    windows = np.lib.stride_tricks.sliding_window_view(raw, needle.size)[::4]
    assert not (windows == needle).all(axis=1).any()


def test_untrained_ivf_searches_exactly_then_trains_itself() -> None:
    x, q = _gallery(6000)
    idx = create_index(DIM, "IVF16,PQ8x4,RFlat|nprobe=16")
    assert isinstance(idx, FaissIndex)
    idx.train(x[:100])  # too little: stays untrained, no error
    assert not idx.is_trained
    ref = create_index(DIM, "Reference")
    idx.add_with_ids(x[:2000], np.arange(2000, dtype=np.int64))
    ref.add_with_ids(x[:2000], np.arange(2000, dtype=np.int64))
    np.testing.assert_array_equal(idx.search(q, 5)[1], ref.search(q, 5)[1])
    idx.train_size = 3000
    idx.add_with_ids(x[2000:], np.arange(2000, 6000, dtype=np.int64))
    ref.add_with_ids(x[2000:], np.arange(2000, 6000, dtype=np.int64))
    assert idx.is_trained and idx.ntotal == 6000
    assert recall_at(ref.search(q, 10)[1], idx.search(q, 10)[1], 1) >= 0.95


def test_pending_rows_survive_save(tmp_path: Path) -> None:
    x, q = _gallery(1000)
    idx = create_index(DIM, "IVF16,PQ8x4,RFlat")
    idx.add_with_ids(x, np.arange(1000, dtype=np.int64))
    idx.remove_ids(np.array([3], dtype=np.int64))
    idx.save(tmp_path / "p.index")
    back = load_index(tmp_path / "p.index", DIM, "IVF16,PQ8x4,RFlat")
    assert not back.is_trained and back.ntotal == 999
    np.testing.assert_array_equal(back.search(q, 5)[1], idx.search(q, 5)[1])


def test_bad_files(tmp_path: Path) -> None:
    x, _ = _gallery(400)
    idx = _built("Flat", x, np.arange(400, dtype=np.int64))
    p = tmp_path / "f.index"
    idx.save(p)
    with pytest.raises(IndexError_):
        load_index(p, DIM, "HNSW16")  # another structure
    with pytest.raises(IndexError_):
        load_index(p, DIM + 1, "Flat")
    data = bytearray(p.read_bytes())
    (tmp_path / "short.index").write_bytes(bytes(data[: len(data) // 2]))
    with pytest.raises(IndexError_):
        load_index(tmp_path / "short.index", DIM, "Flat")
    _, sections = read_container(p)
    data[sections["faiss"].offset + 50] ^= 0xFF  # inside the FAISS section
    (tmp_path / "flip.index").write_bytes(bytes(data))
    with pytest.raises(IndexError_):
        load_index(tmp_path / "flip.index", DIM, "Flat")


def test_crash_while_saving_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    x, _ = _gallery(1200)
    idx = _built("IVF16,PQ8x4,RFlat", x[:1000], np.arange(1000, dtype=np.int64))
    p = tmp_path / "c.index"
    idx.save(p)
    idx.add_with_ids(x[1000:], np.arange(1000, 1200, dtype=np.int64))

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("fortify.index.faiss_backend.write_container", boom)
    with pytest.raises(OSError):
        idx.save(p)
    assert [f.name for f in tmp_path.iterdir()] == ["c.index"]
    back = load_index(p, DIM, "IVF16,PQ8x4,RFlat")
    assert back.ntotal == 1000  # the last good save; IndexManager replays the rest from SQL
    assert idx.ntotal == 1200 and idx.search(x[1100:1101], 1)[1][0, 0] == 1100


def test_partitioning_factories_are_flagged_for_512_d_face_templates() -> None:
    for f in ("IVF4096,PQ64x4fsr,RFlat|nprobe=256", "HNSW32", "milvus://h:19530/c?index=DISKANN"):
        msg = partition_caveat(f, 512)
        assert msg and "loses mates" in msg and "PQ128x4fs,RFlat" in msg
    assert partition_caveat("IVF4096,PQ64x4fsr,RFlat", 128) is None  # dlib: measured fine
    for f in ("Flat", "PQ128x4fs,RFlat|rerank=1024", "Reference", "milvus://h:19530/c?index=FLAT"):
        assert partition_caveat(f, 512) is None
    assert partition_caveat("Set48x64,IVF1024,Flat", 64) is None  # fingerprints


def test_gallery_warns_at_start_up(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from fortify.gallery import Gallery
    from tests.conftest import make_settings

    with caplog.at_level("WARNING", logger="fortify.gallery.core"):
        Gallery(make_settings(tmp_path / "h", index_factory="IVF1024,PQ64x4fsr,RFlat")).close()
    assert any("loses mates" in r.getMessage() for r in caplog.records)
