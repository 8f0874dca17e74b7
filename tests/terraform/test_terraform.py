"""Terraform, offline: fmt, `terraform test` of the provider-free module and root,
the AWS module's real validation blocks, its security invariants (python-hcl2),
checkov, the VM's user data through Debian's `cloud-init schema` and its data-volume
mount run in a container on a loop device, and the rendered inventory read by Ansible."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import hcl2
import pytest
import yaml

from tests.harness import REPO

TF = REPO / "terraform"
AWS_VM = TF / "modules" / "aws-vm"
TOOLS = REPO / ".venv-tools" / "bin"
TERRAFORM = shutil.which("terraform")


@pytest.fixture
def needs_terraform() -> None:
    """A test that runs terraform fails without it (make deps installs it)."""
    if TERRAFORM is None:
        pytest.fail("terraform is not installed: run `make deps` (HashiCorp's APT repository)")


def run(*args: str | Path, cwd: Path = REPO, timeout: int = 300) -> str:
    proc = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert proc.returncode == 0, f"{args}\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc.stdout


def unquote(value: Any) -> Any:
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def blocks(path: Path, kind: str) -> dict[str, dict]:
    """{"type.name" or "name": body} of the resource/data/variable blocks in one file."""
    parsed = hcl2.load(path.open())
    out: dict[str, dict] = {}
    for entry in parsed.get(kind, []):
        for key, body in entry.items():
            if kind in ("resource", "data"):
                for name, inner in body.items():
                    out[f"{unquote(key)}.{unquote(name)}"] = inner
            else:
                out[unquote(key)] = body
    return out


@pytest.mark.usefixtures("needs_terraform")
def test_fmt():
    run(TERRAFORM, "fmt", "-check", "-recursive", "-diff", TF)


@pytest.mark.usefixtures("needs_terraform")
@pytest.mark.parametrize("root", ["modules/ansible-inventory", "envs/existing-host"])
def test_terraform_test(root):
    cwd = TF / root
    run(TERRAFORM, "init", "-backend=false", "-input=false", cwd=cwd)
    out = run(TERRAFORM, "test", "-no-color", cwd=cwd)
    assert "0 failed" in out and " passed" in out, out


# (variable, bad value as HCL) -> each must be rejected by the module's validation
AWS_BAD_INPUTS = [
    ("allowed_cidrs", "[]"),
    ("allowed_cidrs", '["0.0.0.0/0"]'),
    ("allowed_cidrs", '["::/0"]'),
    ("allowed_cidrs", '["10.0.0.300/24"]'),
    ("allowed_cidrs", '["my-office"]'),
    ("public_web_cidrs", '["everyone"]'),
    ("instance_type", '"t3.micro"'),
    ("instance_type", '"t4g.large"'),
    ("instance_type", '"p5.48xlarge"'),
    ("root_volume_gb", "8"),
    ("data_volume_gb", "5"),
    ("ssh_public_key", '"~/.ssh/id_ed25519.pub"'),
    ("name", '"My VM"'),
]
AWS_GOOD = {
    "allowed_cidrs": '["198.51.100.7/32", "2001:db8::/32"]',
    "ssh_public_key": '"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample user@host"',
}


@pytest.mark.usefixtures("needs_terraform")
def test_aws_module_validation_rejects_bad_input():
    """The module's own variables.tf is provider-free, so its validation blocks run
    offline: copy it alone into a scratch root and `terraform test` every bad input."""
    with tempfile.TemporaryDirectory(prefix="mlops-tfvalid-") as tmp:
        root = Path(tmp)
        shutil.copy(AWS_VM / "variables.tf", root / "variables.tf")
        (root / "tests").mkdir()
        good = "\n".join(f"  {k} = {v}" for k, v in AWS_GOOD.items())
        cases = ['run "accepts_good_input" {\n  command = plan\n}\n']
        for i, (var, bad) in enumerate(AWS_BAD_INPUTS):
            cases.append(
                f'run "rejects_{var}_{i}" {{\n  command = plan\n'
                f"  variables {{\n    {var} = {bad}\n  }}\n"
                f"  expect_failures = [var.{var}]\n}}\n"
            )
        (root / "tests" / "validation.tftest.hcl").write_text(
            f"variables {{\n{good}\n}}\n\n" + "\n".join(cases)
        )
        run(TERRAFORM, "init", "-backend=false", "-input=false", cwd=root)
        out = run(TERRAFORM, "test", "-no-color", cwd=root)
    assert f"{len(AWS_BAD_INPUTS) + 1} passed, 0 failed" in out, out


def test_aws_module_invariants():
    res = blocks(AWS_VM / "main.tf", "resource")
    vm = res["aws_instance.vm"]
    assert unquote(vm["metadata_options"][0]["http_tokens"]) == "required", "IMDSv2 required"
    assert vm["root_block_device"][0]["encrypted"] is True
    assert res["aws_ebs_volume.data"]["encrypted"] is True
    assert vm["monitoring"] is True
    assert "debian12" in vm["ami"], "AMI comes from the Debian lookup, not a literal"

    debian = blocks(AWS_VM / "main.tf", "data")["aws_ami.debian12"]
    assert [unquote(o) for o in debian["owners"]] == ["136693429031"], "Debian's own account"

    # ingress: only 22, 80, 443, and only from variables, never a literal world CIDR
    main_text = (AWS_VM / "main.tf").read_text()
    assert "concat([22], local.web_ports)" in main_text
    assert "web_ports    = [80, 443]" in main_text
    ingress = res["aws_vpc_security_group_ingress_rule.allowed"]
    assert "each.value.cidr" in ingress["cidr_ipv4"]
    assert "0.0.0.0/0" not in json.dumps(ingress)


def cloud_init_schema(user_data: str, tmp: Path) -> subprocess.CompletedProcess:
    """`cloud-init schema` of Debian's cloud-init (unpacked by the Makefile) on user data."""
    cloud_init = os.environ.get(
        "MLOPS_CLOUD_INIT", str(REPO / ".tools/cloud-init/usr/bin/cloud-init")
    )
    if not Path(cloud_init).is_file():
        pytest.fail(f"Debian's cloud-init is not unpacked at {cloud_init}: run `make test`")
    path = tmp / "user-data.yaml"
    path.write_text(user_data)
    modules = Path(cloud_init).parents[1] / "lib" / "python3" / "dist-packages"
    return subprocess.run(
        [str(TOOLS / "python"), cloud_init, "schema", "--config-file", str(path)],
        capture_output=True, text=True, timeout=120, check=False,
        env=os.environ | {"PYTHONPATH": str(modules)},
    )  # fmt: skip


VOLUME_ID = "vol-0123456789abcdef0"
DATA_DIR = "/var/lib/mlops"


def render_user_data(tmp: Path) -> str:
    """The VM's user data, rendered by Terraform's own templatefile() as the module does."""
    root = tmp / "render"
    root.mkdir()
    (root / "main.tf").write_text(
        'output "user_data" {\n  value = templatefile("'
        + str(AWS_VM / "templates" / "cloud-init.yaml.tftpl")
        + f'", {{ volume_id = "{VOLUME_ID}", data_dir = "{DATA_DIR}" }})\n}}\n'
    )
    run(TERRAFORM, "init", "-backend=false", "-input=false", cwd=root)
    run(TERRAFORM, "apply", "-auto-approve", "-input=false", "-no-color", cwd=root)
    return run(TERRAFORM, "output", "-raw", "user_data", cwd=root)


@pytest.mark.usefixtures("needs_terraform")
def test_aws_user_data_is_valid_cloud_config(tmp_path):
    """The VM's user data passes Debian's `cloud-init schema`; the same check refuses a
    broken copy."""
    user_data = render_user_data(tmp_path)
    assert user_data.startswith("#cloud-config\n"), user_data[:200]
    assert VOLUME_ID in user_data and DATA_DIR in user_data

    checked = cloud_init_schema(user_data, tmp_path)
    print(checked.stdout.strip())
    assert checked.returncode == 0 and "Valid cloud-config" in checked.stdout, checked
    broken = cloud_init_schema(
        user_data.replace("packages:\n", "packages: 5\nold_packages:\n"), tmp_path
    )
    assert (
        broken.returncode == 1
        and "packages: 5 is not of type 'array'" in broken.stdout + broken.stderr
    ), broken


IMAGE = os.environ.get("MLOPS_TEST_IMAGE", "local/debian12-systemd:latest")


def in_container(name: str, command: str, stdin: str | None = None) -> str:
    proc = subprocess.run(["docker", "exec", "-i", name, "sh", "-euc", command], input=stdin,
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert proc.returncode == 0, f"{command}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout.strip()


@pytest.mark.usefixtures("needs_terraform")
def test_the_data_volume_is_formatted_once_and_mounted_at_every_boot(tmp_path):
    """What cloud-init does with the user data on the VM, done in a Debian container
    with a loop device (a 64 MB file) as the EBS volume under its NVMe name: write the
    mount script (write_files) and run it (runcmd). The blank volume is formatted and
    mounted at the data directory through /etc/fstab; a second run changes nothing (the
    same file system, one fstab line, the data kept); after an unmount, as at a reboot,
    the run mounts the same file system with the data again."""
    config = yaml.safe_load(render_user_data(tmp_path))
    script = next(f for f in config["write_files"] if f["path"].endswith("/mlops-mount-data"))
    assert config["runcmd"] == [[script["path"]]], config["runcmd"]
    if shutil.which("docker") is None or shutil.which("losetup") is None:
        pytest.fail("docker and losetup are needed: run `make test` (it installs the engine)")
    loop = run("losetup", "-f").strip()  # the first free loop device of this machine
    name = f"mlops-data-volume-{os.getpid()}"
    run("docker", "run", "-d", "--rm", "--name", name, "--network", "none",
        "--cap-add", "SYS_ADMIN", "--device", "/dev/loop-control", "--device", loop,
        IMAGE, "sleep", "infinity")  # fmt: skip
    nvme = "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_" + VOLUME_ID.replace("-", "")
    try:
        path, mode = script["path"], script["permissions"]
        in_container(name, f"cat > {path} && chmod {mode} {path}", stdin=script["content"])
        in_container(name, f"truncate -s 64M /var/tmp/ebs.img && losetup {loop} /var/tmp/ebs.img"
                           f" && mkdir -p /dev/disk/by-id && ln -s {loop} {nvme}")  # fmt: skip

        def boot() -> dict[str, str]:
            in_container(name, script["path"])
            return {
                "mount": in_container(name, f"findmnt -n -o SOURCE,FSTYPE {DATA_DIR}"),
                "fs": in_container(name, f"blkid -s LABEL -s UUID -o export {loop}"),
                "fstab": in_container(name, "cat /etc/fstab"),
            }

        first = boot()
        assert first["mount"].split() == [loop, "ext4"], first
        assert "LABEL=mlops-data" in first["fs"].splitlines(), first
        uuid = next(x for x in first["fs"].splitlines() if x.startswith("UUID=")).split("=")[1]
        assert f"UUID={uuid} {DATA_DIR} ext4 defaults,nofail 0 2" in first["fstab"].splitlines()
        in_container(name, f"echo kept > {DATA_DIR}/marker")
        assert boot() == first  # a second run changes nothing
        in_container(name, f"umount {DATA_DIR}")
        assert boot() == first  # the next boot mounts the same file system
        assert in_container(name, f"cat {DATA_DIR}/marker") == "kept"
        assert first["fstab"].count(DATA_DIR) == 1, first["fstab"]
    finally:
        release = f"umount {DATA_DIR}; losetup -d {loop}"
        subprocess.run(["docker", "exec", name, "sh", "-c", release],
                       capture_output=True, timeout=60, check=False)  # fmt: skip
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, timeout=60, check=False)


def test_every_variable_is_documented_and_typed():
    files = sorted(TF.rglob("variables.tf"))
    assert len(files) >= 4
    for path in files:
        for name, body in blocks(path, "variable").items():
            described = unquote(body.get("description", "")).strip()
            assert described, f"{path}: {name} has no description"
            assert "type" in body, f"{path}: {name} has no type"


def test_allowed_cidrs_has_no_default():
    for path in (AWS_VM / "variables.tf", TF / "envs" / "aws" / "variables.tf"):
        assert "default" not in blocks(path, "variable")["allowed_cidrs"], path


def test_aws_root_pins_providers():
    text = (TF / "envs" / "aws" / "versions.tf").read_text()
    assert 'source  = "hashicorp/aws"' in text and 'version = "~> 5.' in text
    assert 'source  = "hashicorp/local"' in text


def test_checkov_has_no_failed_check():
    checkov = TOOLS / "checkov"
    assert checkov.exists(), "run `make venvs` to install the tools venv"
    proc = subprocess.run(
        [
            str(checkov),
            "-d",
            str(TF),
            "--framework",
            "terraform",
            "--quiet",
            "--compact",
            "--skip-download",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    reports = json.loads(proc.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    summary = reports[0]["summary"]
    failed = [
        (c["check_id"], c["resource"])
        for r in reports
        for c in r["results"].get("failed_checks", [])
    ]
    print(f"checkov: {summary}")
    assert failed == [] and summary["failed"] == 0, failed
    assert summary["passed"] >= 20 and summary["parsing_errors"] == 0
    skipped = [c for r in reports for c in r["results"].get("skipped_checks", [])]
    assert all(c.get("suppress_comment") for c in skipped), "every skip needs a reason"


@pytest.mark.usefixtures("needs_terraform")
def test_rendered_inventory_works_with_ansible(tmp_path):
    root = TF / "envs" / "existing-host"
    inventory = tmp_path / "hosts.yml"
    run(TERRAFORM, "init", "-backend=false", "-input=false", cwd=root)
    state = tmp_path / "terraform.tfstate"
    run(
        TERRAFORM,
        "apply",
        "-auto-approve",
        "-input=false",
        f"-state={state}",
        "-var=host=198.51.100.30",
        "-var=public_hostname=mlops.example.org",
        "-var=ssh_port=2222",
        f"-var=inventory_path={inventory}",
        cwd=root,
    )
    listed = json.loads(run(TOOLS / "ansible-inventory", "-i", inventory, "--list"))
    hostvars = listed["_meta"]["hostvars"]["mlops-vm"]
    assert listed["mlops"]["hosts"] == ["mlops-vm"]
    assert hostvars["ansible_host"] == "198.51.100.30"
    assert hostvars["ansible_port"] == 2222
    assert hostvars["mlops_public_hostname"] == "mlops.example.org"
    assert hostvars["mlops_data_dir"] == "/var/lib/mlops"
    site = REPO / "ansible" / "site.yml"
    run(TOOLS / "ansible-playbook", "-i", inventory, site, "--syntax-check", cwd=REPO / "ansible")
