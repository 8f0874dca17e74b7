#!/usr/bin/env python3
"""Validate a systemd unit file before Ansible installs it.

    verify_unit.py CANDIDATE_PATH UNIT_NAME      # e.g. /tmp/tmpab12 mlflow.service

`systemd-analyze verify` needs the unit's real name (the suffix decides the
unit type), while Ansible's `validate:` hands over a temporary file: copy it
under its name into a scratch folder and verify it there.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def main(argv: list[str]) -> int:
    if len(argv) != 2 or "/" in argv[1] or "." not in argv[1]:
        print(__doc__, file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="verify-unit-") as tmp:
        unit = Path(tmp) / argv[1]
        shutil.copyfile(argv[0], unit)
        result = subprocess.run(
            ["systemd-analyze", "verify", "--man=no", str(unit)],
            capture_output=True,
            text=True,
            check=False,
        )
    # verify also prints warnings about other units on the system; only ours count
    problems = [line for line in result.stderr.splitlines() if argv[1] in line]
    if result.returncode != 0 or problems:
        print("\n".join(problems) or result.stderr, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
