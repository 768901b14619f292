"""The Milvus backend against the embedded Milvus 2.3 standalone server on loopback.

Skipped unless the ``milvus`` (embedded server) and ``pymilvus`` packages are installed
(``pip install -e .[milvus]``). One server for the module; it starts in about 20 s.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from fortify.errors import IndexError_
from fortify.index import create_index, load_index
from fortify.index.recall import recall_at

milvus = pytest.importorskip("milvus", reason="embedded Milvus server not installed")
pytest.importorskip("pymilvus", reason="pymilvus not installed")

DIM = 32


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    srv = milvus.MilvusServer()
    srv.set_base_dir(str(tmp_path_factory.mktemp("milvus")))
    srv.listen_port = _free_port()
    try:
        srv.start()
    except (RuntimeError, TimeoutError, OSError) as exc:
        srv.stop()
        pytest.skip(f"embedded Milvus did not start: {exc}")
    yield int(srv.listen_port)
    srv.stop()


def _data(n: int, seed: int) -> np.ndarray:  # type: ignore[type-arg]
    x = np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_same_contract_as_faiss(server: int, tmp_path: Path) -> None:
    factory = f"milvus://127.0.0.1:{server}/t_contract?index=FLAT"
    idx = create_index(DIM, factory)
    idx.reset()
    x, q = _data(2000, 0), _data(20, 1)
    ids = np.arange(2000, dtype=np.int64) * 5 + 1
    idx.add_with_ids(x, ids)
    idx.add_with_ids(x[:10], ids[:10])  # replayed adds are idempotent
    assert idx.ntotal == 2000
    ref = create_index(DIM, "Reference")
    ref.add_with_ids(x, ids)
    d_ref, i_ref = ref.search(q, 10)
    d, i = idx.search(q, 10)
    assert recall_at(i_ref, i, 1) == 1.0
    np.testing.assert_allclose(d[:, 0], d_ref[:, 0], atol=1e-4)

    gone = np.unique(i[:, :3])
    assert idx.remove_ids(gone) == len(gone)
    assert idx.remove_ids(gone) == 0
    _, after = idx.search(q, 10)  # honoured by the very next search
    assert not np.isin(after, gone).any()
    assert idx.ntotal == 2000 - len(gone)

    idx.save(tmp_path / "m.index")
    back = load_index(tmp_path / "m.index", DIM, factory)
    assert back.ntotal == idx.ntotal
    np.testing.assert_array_equal(back.search(q, 5)[1], after[:, :5])
    with pytest.raises(IndexError_):
        load_index(tmp_path / "m.index", DIM, f"milvus://127.0.0.1:{server}/t_other")


def test_hnsw_recall(server: int) -> None:
    idx = create_index(DIM, f"milvus://127.0.0.1:{server}/t_hnsw?index=HNSW&M=16&ef=64")
    idx.reset()
    x, q = _data(3000, 2), _data(30, 3)
    idx.add_with_ids(x, np.arange(3000, dtype=np.int64))
    ref = create_index(DIM, "Reference")
    ref.add_with_ids(x, np.arange(3000, dtype=np.int64))
    assert recall_at(ref.search(q, 10)[1], idx.search(q, 10)[1], 1) >= 0.9


def test_bad_uri() -> None:
    with pytest.raises(IndexError_):
        create_index(DIM, "milvus://127.0.0.1:1/")
    with pytest.raises(IndexError_):
        create_index(DIM, "milvus://127.0.0.1:1/c?bogus=1")
