from __future__ import annotations

import numpy as np
import pytest

from fortify.errors import IndexError_
from fortify.index import create_index, load_index


def _data(n: int = 500, d: int = 32, seed: int = 0) -> np.ndarray:  # type: ignore[type-arg]
    x = np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_flat_matches_reference() -> None:
    x, q = _data(), _data(20, seed=1)
    ids = np.arange(1000, 1500, dtype=np.int64)
    ref, flat = create_index(32, "Reference"), create_index(32, "Flat")
    for idx in (ref, flat):
        idx.add_with_ids(x, ids)
    d1, i1 = ref.search(q, 10)
    d2, i2 = flat.search(q, 10)
    np.testing.assert_array_equal(i1, i2)
    np.testing.assert_allclose(d1, d2, atol=1e-5)


def test_remove_and_missing_slots() -> None:
    for factory in ("Reference", "Flat"):
        idx = create_index(32, factory)
        idx.add_with_ids(_data(3), np.array([1, 2, 3], dtype=np.int64))
        assert idx.remove_ids(np.array([2], dtype=np.int64)) == 1
        d, i = idx.search(_data(1, seed=5), 5)
        assert set(i[0][:2]) == {1, 3} and (i[0][2:] == -1).all() and np.isinf(d[0][2:]).all()


def test_save_load(tmp_path) -> None:  # type: ignore[no-untyped-def]
    for factory in ("Reference", "Flat"):
        idx = create_index(32, factory)
        idx.add_with_ids(_data(), np.arange(500, dtype=np.int64))
        p = tmp_path / f"{factory}.idx"
        idx.save(p)
        back = load_index(p, 32, factory)
        assert back.ntotal == 500
        np.testing.assert_array_equal(
            back.search(_data(3, seed=2), 4)[1], idx.search(_data(3, seed=2), 4)[1]
        )


def test_bad_factory_and_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(IndexError_):
        create_index(32, "NoSuchIndex")
    p = tmp_path / "junk.idx"
    p.write_bytes(b"junk")
    with pytest.raises(IndexError_):
        load_index(p, 32, "Flat")
