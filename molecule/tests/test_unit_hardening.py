"""systemd hardening of every unit of the platform, scored by `systemd-analyze
security`: each unit the project writes must stay at or below 2.0 ("OK"), and
each unit Debian ships that the platform runs (sandboxed by the roles'
drop-ins) at or below 5.0, so that a unit loosened by a change fails here. The
scores of all of them are printed (README, Security)."""

from __future__ import annotations

import re

OURS_LIMIT = 2.0
DEBIANS_LIMIT = 5.0
# Debian's units the platform runs; PostgreSQL's clusters are found by their instances
DEBIANS = [
    "nginx.service",
    "prometheus.service",
    "prometheus-alertmanager.service",
    "prometheus-node-exporter.service",
    "prometheus-process-exporter.service",
]


def instances(host, template: str) -> list[str]:
    listed = host.check_output(
        f"systemctl list-units --all --plain --no-legend '{template.replace('@.', '@*.')}'"
    )
    found = [line.split()[0] for line in listed.splitlines() if line.strip()]
    assert found, f"no instance of {template}"
    return found


def project_units(host) -> list[str]:
    """Unit files in /etc/systemd/system (masks are symlinks: skipped), templates by instance."""
    files = host.check_output(
        "find /etc/systemd/system -maxdepth 1 -type f -name '*.service' -printf '%f\\n'"
    ).split()
    units = []
    for name in sorted(files):
        units += instances(host, name) if name.endswith("@.service") else [name]
    return units


def score(host, unit: str) -> tuple[float, str]:
    last = host.check_output(f"systemd-analyze security --no-pager {unit} | tail -n 1")
    found = re.search(r"exposure level for \S+: ([\d.]+) (\S+)", last)
    assert found, last
    return float(found.group(1)), found.group(2)


def test_every_unit_of_the_platform_is_hardened(host):
    ours = project_units(host)
    assert {"mlflow.service", "mlops-model-server.service", "airflow-scheduler.service"} <= set(
        ours
    )
    debians = DEBIANS + instances(host, "postgresql@.service")
    for unit in debians:
        dropin = f"/etc/systemd/system/{re.sub(r'@[^.]*[.]', '@.', unit)}.d/hardening.conf"
        assert host.file(dropin).exists, f"{unit}: no {dropin}"
        assert host.service(unit).is_running, f"{unit} is not running with its sandbox"
    scores = {
        unit: (score(host, unit), limit)
        for unit, limit in [
            *((u, OURS_LIMIT) for u in ours),
            *((u, DEBIANS_LIMIT) for u in debians),
        ]
    }
    rows = [
        f"  {unit:45} {value:4.1f} {label:8} (limit {limit})"
        for unit, ((value, label), limit) in sorted(scores.items())
    ]
    print("systemd-analyze security:\n" + "\n".join(rows))
    loose = {u: s for u, (s, limit) in scores.items() if s[0] > limit}
    assert not loose, f"units above their limit: {loose}"


def test_a_drop_in_that_systemd_would_ignore_in_part_is_refused(host):
    """The roles install each drop-in through `verify_unit.py --drop-in`: a setting
    that systemd would skip with a warning (and so run the program unsandboxed in
    that respect) must fail the task, for a plain unit and for a template."""
    verify = "/usr/bin/python3 /opt/mlops/app/ops/verify_unit.py --drop-in"
    host.check_output("printf '[Service]\\nProtectSystem=bogus\\n' > /tmp/broken-drop-in.conf")
    for unit in ["nginx.service", "postgresql@.service"]:
        refused = host.run(f"{verify} /tmp/broken-drop-in.conf {unit}")
        assert refused.rc == 1 and "protect system value" in refused.stderr, refused
        kept = host.run(f"{verify} /etc/systemd/system/{unit}.d/hardening.conf {unit}")
        assert kept.rc == 0, kept
