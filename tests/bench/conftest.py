"""Each benchmark's quick mode run as a user would: the script, its JSON, its table."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def quick(tmp_path) -> Callable[[str], tuple[dict, str]]:
    """Run bench/<script> --quick; its JSON result and what it printed. Fails on a
    non-zero exit with the end of its output."""

    def run(script: str) -> tuple[dict, str]:
        out = tmp_path / f"{script}.json"
        done = subprocess.run(
            [sys.executable, str(REPO / "bench" / script), "--quick", "--out", str(out)],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        print(done.stdout)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
        return json.loads(out.read_text()), done.stdout

    return run
