#!/usr/bin/env python3
"""Validate a systemd unit file, or a drop-in of an installed unit, before Ansible installs it.

    verify_unit.py CANDIDATE_PATH UNIT_NAME             # e.g. /tmp/tmpab12 mlflow.service
    verify_unit.py --drop-in CANDIDATE_PATH UNIT_NAME   # e.g. /tmp/tmpab12 nginx.service

`systemd-analyze verify` needs the unit's real name (the suffix decides the
unit type), while Ansible's `validate:` hands over a temporary file: copy it
under its name into a scratch folder and verify it there. A drop-in is copied
to UNIT_NAME.d/ beside a copy of the installed unit, which is verified with it
(a template is verified as one of its instances).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

UNIT_DIRS = ("/etc/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system")


def installed_unit(name: str) -> Path | None:
    for folder in UNIT_DIRS:
        path = Path(folder) / name
        if path.is_file():
            return path
    return None


def main(argv: list[str]) -> int:
    drop_in = argv[:1] == ["--drop-in"]
    if drop_in:
        argv = argv[1:]
    if len(argv) != 2 or "/" in argv[1] or "." not in argv[1]:
        print(__doc__, file=sys.stderr)
        return 2
    candidate, name = argv
    with tempfile.TemporaryDirectory(prefix="verify-unit-") as tmp:
        unit = Path(tmp) / name
        if drop_in:
            vendor = installed_unit(name)
            if vendor is None:
                print(f"{name} is not installed in {', '.join(UNIT_DIRS)}", file=sys.stderr)
                return 1
            shutil.copyfile(vendor, unit)
            (Path(tmp) / f"{name}.d").mkdir()
            shutil.copyfile(candidate, Path(tmp) / f"{name}.d" / "candidate.conf")
        else:
            shutil.copyfile(candidate, unit)
        result = subprocess.run(
            ["systemd-analyze", "verify", "--man=no", str(unit)],
            capture_output=True,
            text=True,
            check=False,
        )
    # verify also prints warnings about other units on the system; only ours count
    ours = name.split("@")[0] + "@" if "@" in name else name
    problems = [line for line in result.stderr.splitlines() if ours in line]
    if result.returncode != 0 or problems:
        print("\n".join(problems) or result.stderr, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
