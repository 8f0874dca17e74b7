"""`ansible-playbook site.yml --check --diff` on the converged host, as a user
previews a change: it must fail nowhere and report no change (a task that
claims a change in check mode on a host that needs none would hide the real
one in every preview)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ANSIBLE = REPO / "ansible"
RECAP = re.compile(
    r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+"
    r"unreachable=(?P<unreachable>\d+)\s+failed=(?P<failed>\d+)"
)


def test_check_mode_on_the_converged_host_changes_and_fails_nothing(default_scenario_only):
    inventory = os.environ.get("MOLECULE_INVENTORY_FILE")
    assert inventory, "run by molecule verify: MOLECULE_INVENTORY_FILE is not set"
    env = os.environ | {
        "ANSIBLE_CONFIG": str(ANSIBLE / "ansible.cfg"),
        "ANSIBLE_ROLES_PATH": str(ANSIBLE / "roles"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",  # Molecule's verify sets it to 1, which beats NOCOLOR
    }
    playbook = Path(sys.executable).parent / "ansible-playbook"
    start = time.monotonic()
    done = subprocess.run(
        [str(playbook), "-i", inventory, str(ANSIBLE / "site.yml"), "--check", "--diff"],
        env=env, capture_output=True, text=True, check=False, timeout=900,
    )  # fmt: skip
    seconds = time.monotonic() - start
    recap = [m for line in done.stdout.splitlines() if (m := RECAP.match(line))]
    changed, task = [], ""
    for line in done.stdout.splitlines():
        task = line if line.startswith(("TASK [", "RUNNING HANDLER [")) else task
        if line.startswith("changed: "):
            changed.append(f"{task} {line}")
    print(f"site.yml --check --diff: {seconds:.0f} s, " + "; ".join(m.group(0) for m in recap))
    assert done.returncode == 0 and recap, done.stdout[-4000:] + done.stderr[-2000:]
    assert all(int(m["failed"]) == 0 and int(m["unreachable"]) == 0 for m in recap)
    assert all(int(m["changed"]) == 0 for m in recap), (
        "check mode reports changes on a converged host:\n"
        + "\n".join(changed)
        + "\n"
        + done.stdout[-4000:]
    )
