"""Provisioning: the no-change run of site.yml on a converged host, with Ansible's
defaults (the baseline: the linear strategy, each module sent as mkdir, put, exec
and rm and run by a new Python) and with ours (ansible.cfg's pipelining, and the
Mitogen strategy that site.yml's play names: one Python interpreter on the host
for the whole play), side by side in the same invocation, with where the time
goes (profile_tasks). Both runs must change nothing. The first converge of a
fresh host is timed by `make test-molecule` (its profile_tasks recap is in
.molecule-logs/).

With --docker CONTAINER the baseline is another transport instead: ours over
`docker exec` into the container that the inventory reaches over SSH, as the same
login user with the same sudo, so that only the transport differs. The two runs
alternate (--rounds) and the medians are compared: a shared machine's speed drifts
by a fifth from one minute to the next.

    .venv-tools/bin/python bench/provisioning.py                 # the whole play
    .venv-tools/bin/python bench/provisioning.py --quick         # the base host and the code only
    .venv-tools/bin/python bench/provisioning.py -i INVENTORY    # another inventory (repeatable)
    .venv-tools/bin/python bench/provisioning.py -i ... --docker mlops-molecule-default

The inventory is that of a converged host: ansible/inventory/ (a VM's, as Terraform
writes it) by default; the local VM's is what `local_vm.inventory_args()` gives.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "molecule"))
from local_vm import ANSI, ANSIBLE, ansible_env, recap, run  # noqa: E402

TASK_TIME = re.compile(r"^(?P<task>\S.*?) -+ (?P<seconds>[\d.]+)s$")
SLOWEST = 10


# what decides the speed: the baseline sets Ansible's defaults, ours is ansible.cfg and
# site.yml as they are (the play's strategy keyword beats ANSIBLE_STRATEGY: only the
# extra var switches it)
DEFAULTS_ENV = {"ANSIBLE_PIPELINING": "False"}
DEFAULTS_ARGS = ["--extra-vars", "mlops_ansible_strategy=linear"]
NO_MITOGEN = "Mitogen is not importable"


def docker_inventory(inventories: list[str], container: str, folder: Path) -> str:
    """An inventory file that sends the play to `container` through `docker exec` (Mitogen's
    docker connection), keeping the login user and sudo of `inventories`."""
    listed = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-inventory"),
         *[arg for inventory in inventories for arg in ("-i", inventory)], "--list"],
        cwd=ANSIBLE, env=ansible_env(), capture_output=True, text=True, check=True,
    )  # fmt: skip
    hosts = json.loads(listed.stdout).get("mlops", {}).get("hosts", [])
    if len(hosts) != 1:
        raise SystemExit(f"--docker compares one host; the inventory's mlops group has {hosts}")
    path = folder / "docker.yml"
    host = {"ansible_connection": "docker", "ansible_host": container}
    path.write_text(json.dumps({"mlops": {"hosts": {hosts[0]: host}}}))
    return str(path)


def no_change_run(inventories: list[str], defaults: bool, tags: str | None) -> dict:
    """One run of site.yml; its time, task count and slowest tasks. Exits if it fails,
    changes anything or ran without Mitogen when ours was asked: then it measured
    something else than a no-change run of the configuration it names."""
    env = ansible_env(
        ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks",
        PROFILE_TASKS_TASK_OUTPUT_LIMIT=str(SLOWEST),
        **(DEFAULTS_ENV if defaults else {}),
    )
    command = [str(Path(sys.executable).parent / "ansible-playbook")]
    command += [arg for inventory in inventories for arg in ("-i", inventory)] + ["site.yml"]
    command += (DEFAULTS_ARGS if defaults else []) + (["--tags", tags] if tags else [])
    rc, out, seconds = run(command, cwd=ANSIBLE, env=env, echo=False, timeout=1800)
    counts = recap(out)
    if rc != 0 or not counts:
        raise SystemExit(f"site.yml failed (rc {rc}):\n{out[-3000:]}")
    ok, changed = sum(c["ok"] for c in counts), sum(c["changed"] for c in counts)
    if changed:
        raise SystemExit(f"not a no-change run: changed={changed}; converge the host first")
    if not defaults and NO_MITOGEN in out:
        raise SystemExit(f"ours ran without Mitogen ({NO_MITOGEN}): make venvs")
    slowest = [
        {"task": m["task"], "seconds": float(m["seconds"])}
        for line in ANSI.sub("", out).splitlines()
        if (m := TASK_TIME.match(line))
    ]
    config = "Ansible's defaults" if defaults else "ansible.cfg (pipelining) and Mitogen"
    return {"config": config, "seconds": seconds, "tasks_ok": ok, "slowest": slowest}


def transports(inventories: list[str], container: str, tags: str | None, rounds: int,
               out: Path) -> int:  # fmt: skip
    """Ours over the inventory's SSH and over `docker exec`, alternating; their medians."""
    with tempfile.TemporaryDirectory() as folder:
        over_docker = [*inventories, docker_inventory(inventories, container, Path(folder))]
        runs = {"ssh": [], "docker": []}
        for _ in range(rounds):
            runs["docker"].append(no_change_run(over_docker, defaults=False, tags=tags))
            runs["ssh"].append(no_change_run(inventories, defaults=False, tags=tags))
    median = {name: statistics.median(r["seconds"] for r in done) for name, done in runs.items()}
    tasks = runs["ssh"][0]["tasks_ok"]
    print(f"no-change run of site.yml{' --tags ' + tags if tags else ''}, {tasks} tasks, "
          f"ours (pipelining, Mitogen), {rounds} rounds each")  # fmt: skip
    labels = {"docker": f"docker exec into {container}", "ssh": "SSH (the inventory)"}
    for name, label in labels.items():
        times = ", ".join(f"{r['seconds']:.1f}" for r in runs[name])
        print(f"  {label:40} median {median[name]:6.1f} s   ({times})")
    print(f"  ssh/docker time {median['ssh'] / median['docker']:.2f}")
    summary = {"tags": tags, "container": container, "median_seconds": median,
               "runs": runs, "ssh_over_docker_time": median["ssh"] / median["docker"]}  # fmt: skip
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2))
    print(f"wrote {out}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-i", "--inventory", action="append", help="default: ansible/inventory/")
    parser.add_argument("--quick", action="store_true", help="the base host and code only (--tags)")
    parser.add_argument(
        "--docker", metavar="CONTAINER",
        help="baseline: ours over docker exec into CONTAINER instead of Ansible's defaults",
    )  # fmt: skip
    parser.add_argument("--rounds", type=int, default=3, help="with --docker: runs of each")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    tags = "common,app_code" if args.quick else None
    inventories = args.inventory or [str(ANSIBLE / "inventory")]
    if args.docker:
        out = args.out or REPO / "bench" / "results" / "provisioning-transports.json"
        return transports(inventories, args.docker, tags, max(args.rounds, 1), out)
    args.out = args.out or REPO / "bench" / "results" / "provisioning.json"
    baseline = no_change_run(inventories, defaults=True, tags=tags)
    ours = no_change_run(inventories, defaults=False, tags=tags)
    print(f"no-change run of site.yml{' --tags ' + tags if tags else ''}, {ours['tasks_ok']} tasks")
    print(f"  Ansible's defaults (linear, no pipelining): {baseline['seconds']:6.1f} s")
    print(f"  ours (pipelining, Mitogen):                 {ours['seconds']:6.1f} s   "
          f"ours/default time {ours['seconds'] / baseline['seconds']:.2f}")  # fmt: skip
    print(f"the {SLOWEST} slowest tasks of ours:")
    for task in ours["slowest"]:
        print(f"  {task['seconds']:6.2f} s  {task['task']}")
    summary = {"tags": tags, "baseline": baseline, "ours": ours,
               "ours_over_baseline_time": ours["seconds"] / baseline["seconds"]}  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
