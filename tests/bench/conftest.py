"""The benchmarks' quick modes run as a user would, once for the three tests:
`bench/run_all.py --quick` (one throwaway stack), its JSON files, its tables."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@dataclass
class QuickRun:
    printed: str
    out_dir: Path

    def result(self, benchmark: str) -> dict:
        return json.loads((self.out_dir / f"{benchmark}.json").read_text())


@pytest.fixture(scope="session")
def quick(tmp_path_factory) -> QuickRun:
    """Fails on a non-zero exit with the end of the output."""
    out_dir = tmp_path_factory.mktemp("bench")
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "run_all.py"), "--quick", "--out-dir", str(out_dir)],
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    print(done.stdout)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return QuickRun(done.stdout, out_dir)
