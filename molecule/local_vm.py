"""The local VM: a Molecule scenario's systemd container, reached the way a user reaches
a VM. Molecule creates the container and its prepare playbook makes it what a Debian
cloud image is (sshd on 127.0.0.1, a login user `admin` with a key and passwordless
sudo, no root or password login); from there on, the user's two steps, as the README
gives them:

  1. `terraform apply` of terraform/envs/existing-host writes the inventory;
  2. `ansible-playbook site.yml` over SSH with it (become through sudo, Mitogen).

    python molecule/local_vm.py preview     -s default   # step 1, then site.yml --check --diff
    python molecule/local_vm.py converge    -s default   # steps 1 and 2
    python molecule/local_vm.py idempotence -s default   # step 2 again: must change nothing
    python molecule/local_vm.py site -s default -- --check --diff   # any site.yml run
    python molecule/local_vm.py site -p restore.yml -- -e backup_restore_name=...

What differs from a VM and why: the inventory, Terraform's state and the controller's
known_hosts file live in .local-vm/<scenario>/ (a real ansible/inventory/hosts.yml and
~/.ssh/known_hosts are left alone; every new container is a new VM with a new host
key), and molecule/<scenario>/vm.yml adds the scenario's settings to the inventory.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
ANSIBLE = REPO / "ansible"
EXISTING_HOST = REPO / "terraform" / "envs" / "existing-host"
TOOLS_BIN = Path(sys.executable).parent
SSH_USER = "admin"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
RECAP = re.compile(
    r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+"
    r"unreachable=(?P<unreachable>\d+)\s+failed=(?P<failed>\d+)"
)


def state_dir(scenario: str) -> Path:
    """The controller's side of the local VM (git-ignored): key, known_hosts, inventory."""
    return REPO / ".local-vm" / scenario


def ssh_port() -> int:
    ports = yaml.safe_load((ANSIBLE / "group_vars/all/ports.yml").read_text())
    return int(ports["mlops_local_vm_ports"]["ssh"])


def inventory_args(scenario: str) -> list[str]:
    """`-i` arguments of every playbook run against the local VM: Terraform's inventory,
    the scenario's settings, the controller's known_hosts file for this VM."""
    state = state_dir(scenario)
    hosts = state / "hosts.yml"
    if not hosts.exists():
        raise SystemExit(f"{hosts} missing: converge first (python molecule/local_vm.py converge)")
    return ["-i", str(hosts), "-i", str(REPO / "molecule" / scenario / "vm.yml"),
            "-i", str(state / "controller.yml")]  # fmt: skip


def ansible_env(**extra: str) -> dict:
    """The environment of a playbook run: ansible.cfg as a user has it, plain output."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    return (
        env
        | {
            "PATH": f"{TOOLS_BIN}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}",
            "ANSIBLE_CONFIG": str(ANSIBLE / "ansible.cfg"),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",  # Molecule's verify sets it to 1, which beats NOCOLOR
        }
        | extra
    )


def recap(output: str) -> list[dict]:
    """The PLAY RECAP lines of a run, as numbers."""
    return [
        {key: (value if key == "host" else int(value)) for key, value in m.groupdict().items()}
        for line in ANSI.sub("", output).splitlines()
        if (m := RECAP.match(line))
    ]


def changed_tasks(output: str) -> list[str]:
    """The tasks (and handlers) that reported a change, with the line that said so."""
    changed, task = [], ""
    for line in ANSI.sub("", output).splitlines():
        task = line if line.startswith(("TASK [", "RUNNING HANDLER [")) else task
        if line.startswith("changed: "):
            changed.append(f"{task} {line}")
    return changed


def run(command: list[str], *, cwd: Path, env: dict, echo: bool, timeout: float) -> tuple:
    """Runs a command; with echo, its output streams to this terminal as it comes.
    Returns (return code, output, seconds)."""
    if echo:
        print("$ " + " ".join(command), flush=True)
    start = time.monotonic()
    proc = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        if echo:
            print(line, end="", flush=True)
        if time.monotonic() - start > timeout:
            proc.kill()
            lines.append(f"\n{command[0]}: killed after {timeout:.0f} s\n")
            break
    return proc.wait(), "".join(lines), time.monotonic() - start


def terraform_apply(scenario: str) -> Path:
    """Step one: terraform apply of envs/existing-host for 127.0.0.1:<ssh port>."""
    state = state_dir(scenario)
    key = state / "id_ed25519"
    if not key.exists():
        raise SystemExit(f"{key} missing: molecule prepare -s {scenario} makes it")
    terraform = shutil.which("terraform")
    if terraform is None:
        raise SystemExit("terraform is not installed: make terraform")
    # Terraform's working data with the VM's state, not in the checkout's envs/ folder
    env = ansible_env(TF_DATA_DIR=str(state / "terraform-data"), TF_IN_AUTOMATION="1")
    init = [terraform, f"-chdir={EXISTING_HOST}", "init", "-input=false", "-backend=false"]
    rc, out, _ = run(init, cwd=REPO, env=env, echo=False, timeout=300)
    if rc != 0:
        raise SystemExit(f"terraform init failed:\n{out}")
    apply = [
        terraform, f"-chdir={EXISTING_HOST}", "apply", "-auto-approve", "-input=false",
        f"-state={state / 'terraform.tfstate'}",
        "-var=host=127.0.0.1", f"-var=ssh_port={ssh_port()}", f"-var=ssh_user={SSH_USER}",
        f"-var=ssh_private_key_file={key}", f"-var=inventory_path={state / 'hosts.yml'}",
    ]  # fmt: skip
    rc, _, _ = run(apply, cwd=REPO, env=env, echo=True, timeout=300)
    if rc != 0:
        raise SystemExit(f"terraform apply failed (rc {rc})")
    # the controller's side of this VM only: its known_hosts file (a new container has a
    # new host key; ansible.cfg's accept-new records it at the first contact)
    known_hosts = f"-o UserKnownHostsFile={state / 'known_hosts'}"
    controller = {"all": {"vars": {"ansible_ssh_common_args": known_hosts}}}
    (state / "controller.yml").write_text(yaml.safe_dump(controller))
    return state / "hosts.yml"


def site(scenario: str, args: list[str], *, echo: bool = True, playbook: str = "site.yml",
         timeout: float = 3600) -> tuple:  # fmt: skip
    """Step two (or any playbook of ansible/): ansible-playbook over SSH, from ansible/
    as the README runs it. Returns (return code, output, seconds)."""
    command = [str(TOOLS_BIN / "ansible-playbook"), *inventory_args(scenario), playbook, *args]
    return run(command, cwd=ANSIBLE, env=ansible_env(), echo=echo, timeout=timeout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["preview", "converge", "idempotence", "site"])
    parser.add_argument("-s", "--scenario", default="default")
    parser.add_argument("-p", "--playbook", default="site.yml", help="site: a playbook of ansible/")
    parser.add_argument("args", nargs="*", help="more ansible-playbook arguments (after --)")
    # what follows "--" goes to ansible-playbook as it is (argparse would take the
    # positional list as already given once an option came between)
    argv = sys.argv[1:]
    cut = argv.index("--") if "--" in argv else len(argv)
    options = parser.parse_args(argv[:cut])
    options.args += argv[cut + 1 :]
    if options.command in ("preview", "converge"):
        terraform_apply(options.scenario)
    playbook = options.playbook if options.command == "site" else "site.yml"
    args = options.args + (["--check", "--diff"] if options.command == "preview" else [])
    rc, out, seconds = site(options.scenario, args, playbook=playbook)
    counts = recap(out)
    hosts = "; ".join(f"{c['host']} ok={c['ok']} changed={c['changed']}" for c in counts)
    print(f"== {playbook} over SSH ({options.command}): rc {rc} in {seconds:.0f} s; {hosts}")
    if rc != 0 or not counts:
        return rc or 1
    if options.command == "preview" and not any(c["changed"] for c in counts):
        print("== the preview of a first install shows no change: it previewed nothing")
        return 1
    if options.command == "idempotence" and any(c["changed"] for c in counts):
        print("== not idempotent: the second run changed\n" + "\n".join(changed_tasks(out)))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
