"""systemd hardening of every unit the project writes, scored by
`systemd-analyze security`: each must stay at or below the level committed to
in the README (2.0, "OK"), so that a unit loosened by a change fails here."""

from __future__ import annotations

import re

LIMIT = 2.0


def project_units(host) -> list[str]:
    """Unit files in /etc/systemd/system (masks are symlinks: skipped), templates by instance."""
    files = host.check_output(
        "find /etc/systemd/system -maxdepth 1 -type f -name '*.service' -printf '%f\\n'"
    ).split()
    units = []
    for name in sorted(files):
        if name.endswith("@.service"):
            listed = host.check_output(
                f"systemctl list-units --all --plain --no-legend '{name.replace('@.', '@*.')}'"
            )
            instances = [line.split()[0] for line in listed.splitlines() if line.strip()]
            assert instances, f"no instance of {name}"
            units += instances
        else:
            units.append(name)
    return units


def test_every_project_unit_is_hardened(host):
    units = project_units(host)
    assert {"mlflow.service", "mlops-model-server.service", "airflow-scheduler.service"} <= set(
        units
    )
    scores = {}
    for unit in units:
        last = host.check_output(f"systemd-analyze security --no-pager {unit} | tail -n 1")
        found = re.search(r"exposure level for \S+: ([\d.]+) (\S+)", last)
        assert found, last
        scores[unit] = (float(found.group(1)), found.group(2))
    rows = [f"  {unit:45} {score:4.1f} {label}" for unit, (score, label) in sorted(scores.items())]
    print("systemd-analyze security:\n" + "\n".join(rows))
    loose = {u: s for u, s in scores.items() if s[0] > LIMIT}
    assert not loose, f"units above {LIMIT}: {loose}"
