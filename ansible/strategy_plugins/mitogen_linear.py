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
