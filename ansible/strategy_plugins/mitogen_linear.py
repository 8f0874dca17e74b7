"""Ansible's linear strategy run through Mitogen, from the installed ``mitogen`` package.

Mitogen keeps one Python interpreter per host for the whole play and sends each
module to it, instead of starting a new interpreter for every task. site.yml's
play names this strategy (mlops_ansible_strategy, default mitogen_linear), so it
runs for a VM, for `make up` and in CI alike. Measured on the converged Molecule
host, the no-change run of site.yml: 112 s with Ansible's defaults, 20 s with it
(bench/provisioning.py).
Mitogen ships its strategies inside its Python package, whose path depends on
the venv; this file, in the strategy_plugins folder next to site.yml, makes them
reachable without any setting. Without Mitogen installed, the play runs with
Ansible's own linear strategy and says so.

Host keys: with host_key_checking on, Mitogen puts ``StrictHostKeyChecking yes``
on ssh's command line before ansible.cfg's ssh_args, and ssh keeps the first
value of an option, so ``StrictHostKeyChecking=accept-new`` never took effect and
the first contact with a new VM failed. When the ssh arguments ask for
accept-new, the connection runs in Mitogen's ``accept`` mode instead: ssh asks
about an unknown host and Mitogen answers yes (the key is recorded), while a
changed key still ends in ssh's "Host key verification failed".

Module scans: before Mitogen sends a module to the host for the first time in a
run, it compiles the module's source and that of every module_utils file it
imports, to find what to send along. It compiles each file again for every
module that imports it (basic.py and its helpers, some 45 files, once per
module). The scan's ``compile`` is given a cache keyed by the file's bytes, so
each file is compiled once per run; the scan finds the same, since the same
bytes compile to the same code. Measured on the converged Molecule host, three
alternating no-change runs: the controller's user CPU 9.9 s -> 9.3 s.

Collections: Ansible runs every task in a worker forked from the playbook's
process, and the first reference to a collection (a module's routing, a filter)
imports its package and parses its meta/runtime.yml, in that worker, and again in
the next. The collections the roles use are imported here, once, before the
workers are forked.
"""

from __future__ import annotations

import functools
import importlib
from types import CodeType
from typing import Any

from ansible.utils.display import Display


def accepts_new_host_keys(ssh_args: list[str]) -> bool:
    """True when the first StrictHostKeyChecking among ssh's -o options is accept-new.

    ssh keeps the first value it is given for an option, so only that one counts.
    """
    for term in ssh_args:
        option = term[2:] if term.startswith("-o") else term
        name, sep, value = option.replace(" ", "=", 1).partition("=")
        if sep and name.strip().lower() == "stricthostkeychecking":
            return value.strip().lower() == "accept-new"
    return False


# the collections ansible/ refers to (tests/ansible/test_strategy_shim.py keeps the list)
COLLECTIONS = ("ansible.posix", "community.crypto", "community.general", "community.postgresql")


def import_collections(names: tuple[str, ...] = COLLECTIONS) -> list[str]:
    """Imports each collection's package (its routing metadata with it); returns those missing."""
    missing = []
    for name in names:
        try:
            importlib.import_module(f"ansible_collections.{name}")
        except ImportError:
            missing.append(name)
    return missing


@functools.cache
def _compile_once(source: bytes, filename: str, mode: str) -> CodeType:
    return compile(source, filename, mode)


def compile_cached(source: Any, filename: str, mode: str, *args: Any, **kw: Any) -> CodeType:
    """compile(), once for the same bytes under the same name (other calls pass through)."""
    if args or kw or not isinstance(source, bytes):
        return compile(source, filename, mode, *args, **kw)
    return _compile_once(source, filename, mode)


try:
    import ansible_mitogen.connection as _mitogen_connection
    import ansible_mitogen.module_finder as _mitogen_module_finder
    from ansible_mitogen.plugins.strategy.mitogen_linear import StrategyModule
except ImportError as exc:
    from ansible.plugins.strategy.linear import StrategyModule

    Display().warning(
        f"Mitogen is not importable ({exc}): running with Ansible's linear strategy, "
        "several times slower. Install the controller's tools: make venvs"
    )
else:
    _connect_ssh = _mitogen_connection.CONNECTION_METHOD["ssh"]

    def _connect_ssh_accept_new(spec: Any) -> dict[str, Any]:
        options = _connect_ssh(spec)
        kwargs = options["kwargs"]
        if kwargs["check_host_keys"] == "enforce" and accepts_new_host_keys(
            kwargs.get("ssh_args") or []
        ):
            kwargs["check_host_keys"] = "accept"
        return options

    _mitogen_connection.CONNECTION_METHOD["ssh"] = _connect_ssh_accept_new
    _mitogen_connection.CONNECTION_METHOD["smart"] = _connect_ssh_accept_new
    # the scan calls compile() by its global name: a name in its module comes first
    _mitogen_module_finder.compile = compile_cached

import_collections()

__all__ = [
    "COLLECTIONS",
    "StrategyModule",
    "accepts_new_host_keys",
    "compile_cached",
    "import_collections",
]
