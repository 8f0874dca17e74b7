"""bench/batch_inference.py --quick end to end: run_inference() scores the
benchmark's batch exactly (the script exits non-zero otherwise) and the floor
writes as many rows; both timings and the ratio reach the JSON. The ratio is
printed, not asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_quick_batch_inference_benchmark_measures_ours_and_the_floor(tmp_path):
    out = tmp_path / "batch_inference.json"
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "batch_inference.py"), "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    print(done.stdout)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["rows"] == 5000 and len(result["rounds"]) == 1
    assert result["ours_rows_per_s"] > 0 and result["floor_rows_per_s"] > 0
    assert result["model_load_s"] > 0
    assert "ours takes" in done.stdout
