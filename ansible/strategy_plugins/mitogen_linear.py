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
"""

from __future__ import annotations

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


try:
    import ansible_mitogen.connection as _mitogen_connection
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

__all__ = ["StrategyModule", "accepts_new_host_keys"]
