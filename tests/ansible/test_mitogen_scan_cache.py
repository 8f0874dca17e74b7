"""The strategy shim's cache of Mitogen's module scan (ansible/strategy_plugins/mitogen_linear.py).

Before Mitogen first sends a module to the host, it compiles the module and every
module_utils file the module imports, to find what to send along; the shim makes it
compile each file once per run. The scan must find exactly what it found without the
cache, for real modules of the play, and the second module's scan must reuse the files
the first one compiled. Runs in the controller's tools venv (Ansible and Mitogen).
"""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.harness import REPO

TOOLS_PYTHON = REPO / ".venv-tools" / "bin" / "python"

SCRIPT = r"""
import json, os, sys
sys.path.insert(0, sys.argv[1])
import ansible, ansible.modules.file, ansible.modules.stat
import ansible_mitogen.module_finder as finder
import mitogen_linear as shim

assert finder.compile is shim.compile_cached, "the shim did not reach the scan"
search = (os.path.dirname(ansible.__file__) + "/module_utils",)
modules = [ansible.modules.file, ansible.modules.stat]


def scan(module):
    return finder.scan(module.__name__, module.__file__, search)


cached = [scan(m) for m in modules]
stats = shim._compile_once.cache_info()
del finder.compile  # the builtin again
plain = [scan(m) for m in modules]
print(json.dumps({"same": cached == plain, "found": [len(r) for r in cached],
                  "hits": stats.hits, "misses": stats.misses}))
"""


def test_the_scan_finds_the_same_with_each_file_compiled_once():
    if not TOOLS_PYTHON.exists():
        pytest.fail(f"{TOOLS_PYTHON} missing: `make venvs` installs the controller's tools")
    out = subprocess.run(
        [str(TOOLS_PYTHON), "-c", SCRIPT, str(REPO / "ansible" / "strategy_plugins")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["same"], result
    # both modules import basic.py and its helpers: found, and compiled for the first only
    assert all(found > 10 for found in result["found"]), result
    assert result["hits"] > 10, result
    assert result["misses"] <= max(result["found"]) + 5, result
