"""The local copy of served versions: whole versions only, the newest kept, the
version last served for each alias remembered."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.model_cache import KEEP, ModelCache


def fake_download(marker: str):
    def download(into: Path) -> str:
        (into / "MLmodel").write_text(marker)
        return str(into)

    return download


def test_a_version_is_stored_once_and_read_back(tmp_path):
    cache = ModelCache(tmp_path)
    assert cache.cached("iris/model", 1) is None
    path = cache.store("iris/model", 1, fake_download("first"))
    assert (path / "MLmodel").read_text() == "first"
    assert path.parent.name == "iris_model"  # one path component per registry name
    calls = []
    cache.store("iris/model", 1, lambda into: calls.append(into) or str(into))
    assert calls == []  # cached: not downloaded again
    assert [p.name for p in path.parent.iterdir()] == ["1"]  # no staging left behind


def test_a_failed_download_leaves_nothing(tmp_path):
    cache = ModelCache(tmp_path)

    def broken(into: Path) -> str:
        (into / "partial").write_text("x")
        raise ConnectionError("object store down")

    with pytest.raises(ConnectionError):
        cache.store("m", 1, broken)
    assert cache.cached("m", 1) is None
    assert list((tmp_path / "m").iterdir()) == []


def test_the_last_served_version_is_remembered_and_old_ones_dropped(tmp_path):
    cache = ModelCache(tmp_path)
    assert cache.last_served("m", "Production") is None
    for version in range(1, KEEP + 3):
        cache.store("m", version, fake_download(str(version)))
        cache.remember("m", "Staging" if version == 1 else "Production", version)
    assert cache.last_served("m", "Production") == KEEP + 2
    assert cache.last_served("m", "Staging") == 1  # pointed at: kept although old
    kept = sorted(int(p.name) for p in (tmp_path / "m").iterdir() if p.name.isdigit())
    assert kept == [1, *range(3, KEEP + 3)]
    (tmp_path / "m" / "Production.json").write_text("{broken")
    assert cache.last_served("m", "Production") is None
