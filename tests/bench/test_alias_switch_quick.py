"""bench/alias_switch.py --quick end to end: one switch of ours (the alias moved
under load) and one restart of the anchor on the new version. Ours must lose no
request and end up serving only the new version (the script exits non-zero
otherwise); the times are printed, not asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_quick_alias_switch_benchmark_switches_both_servers(tmp_path):
    out = tmp_path / "alias_switch.json"
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "alias_switch.py"), "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    print(done.stdout)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    result = json.loads(out.read_text())
    (mine,), (theirs,) = result["ours"], result["anchor"]
    assert mine["failed"] == 0 and mine["switched"]
    assert mine["served"] == theirs["served"]  # both on the new version
    assert theirs["seconds"] > 0
