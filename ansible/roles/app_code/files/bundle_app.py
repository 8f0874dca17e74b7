#!/usr/bin/env python3
"""Pack the code the playbook deploys into a byte-for-byte reproducible tar.gz.

    bundle_app.py REPO_ROOT OUT.tar.gz ml ops server dags requirements

Same sources -> same bytes (sorted names, fixed mtimes and owners, no gzip
timestamp), so Ansible's copy reports "changed" only when the code changed.
Caches and bytecode are left out.
"""

from __future__ import annotations

import gzip
import io
import sys
import tarfile
from pathlib import Path

SKIP_PARTS = {"__pycache__", ".pytest_cache", ".ruff_cache"}


def files(root: Path, folders: list[str]) -> list[Path]:
    out = []
    for folder in folders:
        for path in sorted((root / folder).rglob("*")):
            rel = path.relative_to(root)
            if path.is_file() and not SKIP_PARTS & set(rel.parts) and path.suffix != ".pyc":
                out.append(rel)
    return sorted(out)


def bundle(root: Path, out: Path, folders: list[str]) -> int:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for rel in files(root, folders):
            data = (root / rel).read_bytes()
            info = tarfile.TarInfo(str(rel))
            info.size = len(data)
            info.mtime = 0
            info.mode = 0o644  # every program on the host is run by an interpreter named in full
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            tar.addfile(info, io.BytesIO(data))
    packed = gzip.compress(raw.getvalue(), mtime=0)
    if not out.exists() or out.read_bytes() != packed:
        out.write_bytes(packed)
    return len(packed)


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    bundle(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:])
