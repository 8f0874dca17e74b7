#!/usr/bin/env python3
"""Check an nginx configuration file with `nginx -t` before Ansible installs it.

    check_nginx.py CANDIDATE_PATH DESTINATION [--enable]
    # e.g. /tmp/tmpab12 /etc/nginx/sites-available/mlops.conf --enable

Ansible's `validate:` hands over the new content in a temporary file, while
nginx only checks a whole configuration. So /etc/nginx is copied into a scratch
folder, the candidate takes DESTINATION's place in the copy (with --enable, a
site is linked into sites-enabled/ as well, as the next task will do), every
absolute /etc/nginx path in the copy is pointed at the copy, and `nginx -t`
checks the copy. The installed configuration is never touched, so a file that
nginx refuses is never installed, and the next run checks it again.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

NGINX = Path("/etc/nginx")


def scratch_copy(tmp: Path) -> Path:
    """/etc/nginx under tmp, symlinks into /etc/nginx pointed into the copy."""
    root = tmp / "nginx"
    shutil.copytree(NGINX, root, symlinks=True)
    for path in sorted(root.rglob("*")):
        if path.is_symlink():
            target = Path(path.readlink())
            if target.is_absolute() and target.is_relative_to(NGINX):
                path.unlink()
                path.symlink_to(root / target.relative_to(NGINX))
        elif path.is_file():
            try:
                text = path.read_text()
            except (UnicodeDecodeError, PermissionError):
                continue
            if f"{NGINX}/" in text:
                path.write_text(text.replace(f"{NGINX}/", f"{root}/"))
    return root


def main(argv: list[str]) -> int:
    enable = "--enable" in argv
    args = [arg for arg in argv if arg != "--enable"]
    if len(args) != 2 or not Path(args[1]).is_absolute() or not Path(args[1]).is_relative_to(NGINX):
        print(__doc__, file=sys.stderr)
        return 2
    candidate, destination = Path(args[0]), Path(args[1])
    with tempfile.TemporaryDirectory(prefix="check-nginx-") as tmp:
        root = scratch_copy(Path(tmp))
        placed = root / destination.relative_to(NGINX)
        placed.parent.mkdir(parents=True, exist_ok=True)
        placed.unlink(missing_ok=True)
        placed.write_text(candidate.read_text().replace(f"{NGINX}/", f"{root}/"))
        if enable:
            link = root / "sites-enabled" / destination.name
            link.parent.mkdir(exist_ok=True)
            link.unlink(missing_ok=True)
            link.symlink_to(placed)
        result = subprocess.run(
            ["nginx", "-t", "-q", "-c", str(root / "nginx.conf")],
            capture_output=True,
            text=True,
            check=False,
        )
    if result.returncode != 0:
        # name the file as the user knows it, not the scratch copy
        print(
            result.stderr.replace(str(placed), str(destination)).replace(f"{root}/", f"{NGINX}/"),
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
