"""What the strategy shim (ansible/strategy_plugins/mitogen_linear.py) does before the workers fork.

Before Mitogen first sends a module to the host, it compiles the module and every
module_utils file the module imports, to find what to send along; the shim makes it
compile each file once per run. The scan must find exactly what it found without the
cache, for real modules of the play, and the second module's scan must reuse the files
the first one compiled. The collections the roles use are imported, their routing
metadata loaded, and the shim's list names every collection ansible/ refers to.
Runs in the controller's tools venv (Ansible and Mitogen).
"""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from tests.harness import REPO

TOOLS_PYTHON = REPO / ".venv-tools" / "bin" / "python"


def run_in_tools(script: str) -> dict:
    """Runs a script in the tools venv with the shim's folder as its argument; its JSON line."""
    if not TOOLS_PYTHON.exists():
        pytest.fail(f"{TOOLS_PYTHON} missing: `make venvs` installs the controller's tools")
    out = subprocess.run(
        [str(TOOLS_PYTHON), "-c", script, str(REPO / "ansible" / "strategy_plugins")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


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
    result = run_in_tools(SCRIPT)
    assert result["same"], result
    # both modules import basic.py and its helpers: found, and compiled for the first only
    assert all(found > 10 for found in result["found"]), result
    assert result["hits"] > 10, result
    assert result["misses"] <= max(result["found"]) + 5, result


COLLECTIONS_SCRIPT = r"""
import json, sys
from ansible.plugins.loader import init_plugin_loader
init_plugin_loader()
sys.path.insert(0, sys.argv[1])
import mitogen_linear as shim
print(json.dumps({
    "listed": list(shim.COLLECTIONS),
    "missing": shim.import_collections(),
    "with_metadata": [name for name in shim.COLLECTIONS if getattr(
        sys.modules.get("ansible_collections." + name), "_collection_meta", None)],
}))
"""


def collections_referred_to() -> set[str]:
    """namespace.collection of every fully qualified name in ansible/, but Ansible's own."""
    names = set()
    for path in (REPO / "ansible").rglob("*"):
        if path.suffix in (".yml", ".j2", ".cfg") and path.is_file():
            names |= set(
                re.findall(r"\b((?:community|ansible)\.[a-z_]+)\.[a-z_]+", path.read_text())
            )
    return names - {"ansible.builtin", "ansible.module_utils"}


def test_the_collections_the_roles_use_are_imported_before_the_workers_fork():
    result = run_in_tools(COLLECTIONS_SCRIPT)
    assert sorted(result["listed"]) == sorted(collections_referred_to()), result
    assert result["missing"] == [], result
    assert result["with_metadata"] == result["listed"], result
