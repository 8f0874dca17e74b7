"""Ansible's linear strategy run through Mitogen, from the installed ``mitogen`` package.

Mitogen keeps one Python interpreter per host for the whole play and sends each
module to it, instead of starting a new interpreter (and, without pipelining,
copying a file) for every task. Measured on the converged Molecule host, the
no-change run of site.yml: 175-182 s without it, 71-84 s with it
(bench/provisioning.py). It is opt-in (ANSIBLE_STRATEGY=mitogen_linear), for runs
on a converged host: on a fresh one the apt module cannot install and load its
python3-apt bindings inside Mitogen's interpreter, and Molecule's create and
destroy playbooks wait on async tasks that Mitogen's async_status does not find.
Mitogen ships its strategies inside its Python package, whose path depends on
the venv; this file makes them reachable from ansible.cfg by a path relative to
it. Without Mitogen installed, the play runs with Ansible's own linear strategy
and says so.
"""

from __future__ import annotations

from ansible.utils.display import Display

try:
    from ansible_mitogen.plugins.strategy.mitogen_linear import StrategyModule
except ImportError as exc:
    from ansible.plugins.strategy.linear import StrategyModule

    Display().warning(
        f"Mitogen is not importable ({exc}): running with Ansible's linear strategy, "
        "several times slower. Install the controller's tools: make venvs"
    )

__all__ = ["StrategyModule"]
