"""A local copy of the served versions, so that a worker or unit that restarts while
MLflow or the object store is down still serves.

Layout under the cache directory (``MLOPS_MODEL_CACHE_DIR``; on the VM the unit's
StateDirectory):

    <model>/<version>/       the version's MLflow model, as downloaded (MLmodel first)
    <model>/<alias>.json     {"version": N}: the version last served for the alias

A registry version's artifacts never change, so a version found here is loaded from
here instead of downloaded again. A version is moved into place whole (a rename of a
finished download), so a worker never reads half of one, and two workers storing the
same version at once keep one copy. The newest ``KEEP`` versions of a model are kept.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

KEEP = 3
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def _safe(name: str) -> str:
    """A registry name (or alias) as one path component."""
    return _UNSAFE.sub("_", name) or "_"


@dataclass(frozen=True)
class ModelCache:
    root: Path

    def version_dir(self, name: str, version: int) -> Path:
        return self.root / _safe(name) / str(version)

    def cached(self, name: str, version: int) -> Path | None:
        path = self.version_dir(name, version)
        return path if (path / "MLmodel").is_file() else None

    def store(self, name: str, version: int, download: Callable[[Path], str]) -> Path:
        """The version's directory, downloading it first (``download(into) -> path``)
        unless it is here already."""
        final = self.version_dir(name, version)
        if self.cached(name, version):
            return final
        final.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{version}-", dir=final.parent))
        try:
            downloaded = Path(download(staging))
            with contextlib.suppress(OSError):  # another worker was first: keep its copy
                downloaded.rename(final)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        if not self.cached(name, version):
            raise OSError(f"model {name} version {version} could not be stored in {final}")
        return final

    def remember(self, name: str, alias: str, version: int) -> None:
        """Note the version served for ``alias``; drop all but the newest KEEP versions."""
        pointer = self.root / _safe(name) / f"{_safe(alias)}.json"
        fd, tmp = tempfile.mkstemp(dir=pointer.parent, prefix=".alias-")
        with os.fdopen(fd, "w") as out:
            json.dump({"version": version}, out)
        Path(tmp).replace(pointer)
        kept = {version, *self._pointed(name)}
        versions = sorted(
            (int(p.name) for p in pointer.parent.iterdir() if p.name.isdigit()), reverse=True
        )
        for old in versions[KEEP:]:
            if old not in kept:
                shutil.rmtree(self.version_dir(name, old), ignore_errors=True)

    def last_served(self, name: str, alias: str) -> int | None:
        """The version last served for ``alias``, if it is still here."""
        pointer = self.root / _safe(name) / f"{_safe(alias)}.json"
        try:
            version = int(json.loads(pointer.read_text())["version"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return version if self.cached(name, version) else None

    def _pointed(self, name: str) -> set[int]:
        out = set()
        for pointer in (self.root / _safe(name)).glob("*.json"):
            with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
                out.add(int(json.loads(pointer.read_text())["version"]))
        return out
