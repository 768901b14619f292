"""A gallery index split over shard servers (real HTTP servers on loopback): the merged
top k equals one index's, removals and replays are honoured, a missing shard fails the
search, and every request is authenticated before its body is read."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import numpy as np
import pytest

from fortify.errors import IndexError_
from fortify.index.factory import create_index, load_index, structure
from fortify.index.reference import ReferenceIndex
from fortify.index.shard_server import Shard, create_shard_app
from fortify.index.sharded import ShardedIndex, parse_shards
from tests.api.live import live_server

TOKEN = "test-shard-token-0123456789"
DIM = 16


class _Server:
    """One shard server on a free loopback port (the API tests' live server)."""

    def __init__(self, directory: Path, factory: str = "Flat", dim: int = DIM) -> None:
        self.shard = Shard(directory, dim, factory)
        self._stack = ExitStack()
        self.port = self._stack.enter_context(live_server(create_shard_app(self.shard, TOKEN)))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self._stack.close()


def start_shards(tmp: Path, n: int, factory: str = "Flat", dim: int = DIM) -> list[_Server]:
    """``n`` shard servers on free loopback ports (also used by the gallery test)."""
    return [_Server(tmp / f"shard{k}", factory, dim) for k in range(n)]


@pytest.fixture
def shards(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[_Server]]:
    monkeypatch.setenv("FORTIFY_SHARD_TOKEN", TOKEN)
    servers = start_shards(tmp_path, 3)
    yield servers
    for s in servers:
        s.stop()


def _declared_only(port: int, token: str) -> int:
    """The status of a POST that declares a 1 TiB body and sends none of it."""
    head = f"POST /v1/shard/add HTTP/1.1\r\nHost: x\r\nContent-Length: {2**40}\r\n"
    if token:
        head += f"Authorization: Bearer {token}\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
        c.sendall((head + "\r\n").encode())
        return int(c.recv(4096).split(b" ", 2)[1])


def _factory(servers: list[_Server]) -> str:
    return "shards://" + ",".join(f"127.0.0.1:{s.port}" for s in servers) + "?timeout=5"


def _unit(n: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_merged_top_k_equals_one_index(shards: list[_Server]) -> None:
    idx = create_index(DIM, _factory(shards))
    assert isinstance(idx, ShardedIndex)
    ref = ReferenceIndex(DIM)
    x, ids = _unit(300, 0), np.arange(1000, 1300, dtype=np.int64)
    idx.add_with_ids(x, ids)
    ref.add_with_ids(x, ids)
    assert idx.ntotal == 300 and all(0 < s.shard.index.ntotal < 300 for s in shards)
    q = _unit(12, 1)
    d, i = idx.search(q, 7)
    rd, ri = ref.search(q, 7)
    assert np.array_equal(i, ri) and np.allclose(d, rd, atol=1e-5)
    # more slots than templates: missing slots are id -1, score -inf, as for one index
    d, i = idx.search(q[:1], 400)
    assert (i[0, 300:] == -1).all() and np.isneginf(d[0, 300:]).all()


def test_removal_and_replayed_adds(shards: list[_Server]) -> None:
    idx = ShardedIndex(DIM, _factory(shards))
    x, ids = _unit(30, 2), np.arange(30, dtype=np.int64)
    idx.add_with_ids(x, ids)
    idx.add_with_ids(x[:10], ids[:10])  # a change-log replay adds the same ids again
    assert idx.ntotal == 30
    assert idx.remove_ids(np.array([4, 5], np.int64)) == 2
    _, i = idx.search(x[4:6], 1)
    assert 4 not in i and 5 not in i
    idx.reset()
    assert idx.ntotal == 0


def test_save_and_load_keep_the_shard_list_and_no_secret(
    shards: list[_Server], tmp_path: Path
) -> None:
    f = _factory(shards)
    idx = ShardedIndex(DIM, f)
    idx.add_with_ids(_unit(20, 3), np.arange(20, dtype=np.int64))
    desc = tmp_path / "g.index"
    idx.save(desc)
    assert TOKEN not in desc.read_text() and json.loads(desc.read_text())["ntotal"] == [7, 7, 6]
    assert all((s.shard.directory / "shard.index").is_file() for s in shards)
    assert load_index(desc, DIM, f).ntotal == 20
    assert structure(f) == structure(f.replace("timeout=5", "timeout=9"))  # no rebuild
    fewer = "shards://" + ",".join(f"127.0.0.1:{s.port}" for s in shards[:2])
    with pytest.raises(IndexError_, match="shard list changed"):
        ShardedIndex.load(desc, DIM, fewer)
    # a restarted shard loads its own file
    again = Shard(shards[0].shard.directory, DIM, "Flat")
    assert again.index.ntotal == 7


def test_a_missing_shard_fails_the_search(shards: list[_Server]) -> None:
    idx = ShardedIndex(DIM, _factory(shards))
    idx.add_with_ids(_unit(9, 4), np.arange(9, dtype=np.int64))
    shards[1].stop()
    with pytest.raises(IndexError_, match="cannot be searched in full"):
        idx.search(_unit(1, 5), 3)


def test_token_is_required_and_checked_before_the_body(
    shards: list[_Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    f = _factory(shards)
    monkeypatch.setenv("FORTIFY_SHARD_TOKEN", "wrong-token-0123456789")
    with pytest.raises(IndexError_, match="401"):
        ShardedIndex(DIM, f)
    monkeypatch.delenv("FORTIFY_SHARD_TOKEN")
    with pytest.raises(IndexError_, match="FORTIFY_SHARD_TOKEN"):
        ShardedIndex(DIM, f)
    url = shards[0].url
    # a body declared far over the limit, never sent: without the token it is refused as
    # unauthorised (nothing read); with it, as too large (still nothing read)
    assert _declared_only(shards[0].port, "") == 401
    assert _declared_only(shards[0].port, TOKEN) == 413
    auth = {"Authorization": f"Bearer {TOKEN}"}
    bad = httpx.post(f"{url}/v1/shard/search", content=b"abc", headers=auth)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_input"
    many = _unit(200, 9).tobytes()  # 200 queries x k 10000: an answer too large to make
    r = httpx.post(f"{url}/v1/shard/search", params={"k": 10000}, content=many, headers=auth)
    assert r.status_code == 422
    nan = np.full((1, DIM), np.nan, "<f4").tobytes()
    assert httpx.post(f"{url}/v1/shard/search", content=nan, headers=auth).status_code == 422
    rows = httpx.post(
        f"{url}/v1/shard/add",
        content=np.arange(2, dtype="<i8").tobytes() + _unit(1, 6).tobytes(),
        headers={**auth, "x-rows": "2"},
    )
    assert rows.status_code == 422  # two ids, one vector: nothing added
    assert shards[0].shard.index.ntotal == 0


def test_factory_strings() -> None:
    urls, timeout, env = parse_shards("shards://a:1,b:2?timeout=2.5&token_env=T")
    assert urls == ["http://a:1", "http://b:2"] and timeout == 2.5 and env == "T"
    for bad in (
        "shards://",
        "shards://nohost",
        "shards://a:1?colour=red",
        "shards://a:1?timeout=x",
    ):
        with pytest.raises(IndexError_):
            parse_shards(bad)
    with pytest.raises(IndexError_, match="not another sharded"):
        Shard(Path("/nonexistent"), DIM, "shards://a:1")


def test_two_replaying_processes_apply_each_change_once_in_order(shards: list[_Server]) -> None:
    a, b = ShardedIndex(DIM, _factory(shards)), ShardedIndex(DIM, _factory(shards))
    x = _unit(3, 7)
    # A has replayed the log up to 12: template 5 added (8) and removed (12), 9 added (10)
    a.apply_changes([(8, "add", 5, x[0]), (10, "add", 9, x[2]), (12, "remove", 5, None)])
    b.apply_changes([(8, "add", 5, x[0])])  # B, behind, replays the add of seq 8: ignored
    assert a.ntotal == 1
    _, i = b.search(x[:1], 1)
    assert i[0, 0] != 5
    a.reset_at(20)  # a rebuild from the store as of seq 20
    b.apply_changes([(15, "add", 6, x[1])])  # an older replay: ignored
    a.add_with_ids(x[1:2], np.array([7], np.int64))  # the rebuild's bulk add: applied
    a.apply_changes([(21, "add", 5, x[0]), (22, "add", 6, None)])  # 6 deleted since: skipped
    assert a.ntotal == 2
    owner = shards[5 % 3].shard
    owner.save()
    assert Shard(owner.directory, DIM, "Flat").last_seq == 21
    auth = {"Authorization": f"Bearer {TOKEN}"}
    short = httpx.post(f"{shards[0].url}/v1/shard/apply", content=b"x" * 7, headers=auth)
    assert short.status_code == 422  # not whole change records: nothing applied


def test_shards_of_another_dimension_are_refused(shards: list[_Server]) -> None:
    with pytest.raises(IndexError_, match=f"holds {DIM}-d templates, not {DIM * 2}-d"):
        ShardedIndex(DIM * 2, _factory(shards))
