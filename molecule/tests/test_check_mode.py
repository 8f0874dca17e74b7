"""`ansible-playbook site.yml --check --diff` on the converged host, as a user
previews a change (over SSH, from ansible/, with Terraform's inventory): it must
fail nowhere and report no change (a task that claims a change in check mode on a
host that needs none would hide the real one in every preview)."""

from __future__ import annotations

import local_vm


def test_check_mode_on_the_converged_host_changes_and_fails_nothing(
    default_scenario_only, scenario
):
    rc, out, seconds = local_vm.site(scenario, ["--check", "--diff"], echo=False, timeout=900)
    recap = local_vm.recap(out)
    print(f"site.yml --check --diff over SSH: {seconds:.0f} s, {recap}")
    assert rc == 0 and recap, out[-6000:]
    assert all(c["failed"] == 0 and c["unreachable"] == 0 for c in recap), recap
    assert all(c["changed"] == 0 for c in recap), (
        "check mode reports changes on a converged host:\n"
        + "\n".join(local_vm.changed_tasks(out))
        + "\n"
        + out[-4000:]
    )
