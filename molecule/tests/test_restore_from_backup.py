"""Backup and restore on the converged host: mlops-backup.service backs up, the
data is destroyed (databases dropped, bucket emptied, MLflow's logins deleted),
restore.yml restores, and everything recorded before matches again: MLflow's
runs and versions, every app-db and Airflow table's rows, every object's
sha256. Then the model server loads models:/<name>@Production from the
restored registry. A backup that is not there stops restore.yml untouched.

Where a copy off the host is configured (the default scenario: a second bucket
of the local object store stands in for the remote S3), the service pushes each
backup there, and the restore deletes the local folder first and fetches the
backup back from the remote copy (restore.yml -e backup_restore_from_remote=true).
The single-postgres scenario restores from the local folder."""

from __future__ import annotations

import time

import local_vm
import pytest
import requests
from platform_demo import ROW, group_vars
from platform_state import record, s3_objects, wait_targets_up

BACKUP_DIR = "/var/backups/mlops"
# ops.backup_remote as the backup user, with its environment (no key on a command line)
REMOTE_CLI = (
    "systemd-run --quiet --wait --pipe --collect --uid=mlops-backup --gid=mlops-backup "
    "-p EnvironmentFile=/etc/mlops/backup.env /opt/mlops/venvs/mlflow/bin/python "
    "-m ops.backup_remote"
)


def remote_configured(host) -> bool:
    return host.file("/etc/mlops/backup.env").contains("^MLOPS_BACKUP_REMOTE_BUCKET=")


def restore(scenario: str, *extra: str) -> tuple[int, str]:
    """restore.yml over SSH, as a user runs it from ansible/: (return code, output)."""
    rc, out, _ = local_vm.site(scenario, list(extra), playbook="restore.yml", echo=False,
                               timeout=900)  # fmt: skip
    return rc, out


def wait_ready(platform, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if platform.api.get("/ready", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        assert time.monotonic() < deadline, "the model server is not ready after the restore"
        time.sleep(2)


@pytest.fixture(scope="module")
def backup(host):
    """One backup by the service, as the timer would run it."""
    host.check_output("systemctl start mlops-backup.service")
    names = host.check_output(f"ls {BACKUP_DIR}").split()
    assert names, "mlops-backup.service made no backup"
    return names[-1]


def test_the_timer_is_scheduled(host):
    assert host.service("mlops-backup.timer").is_enabled
    assert host.service("mlops-backup.timer").is_running
    assert host.file(BACKUP_DIR).mode == 0o700


def test_each_backup_is_copied_off_the_host(host, backup):
    if not remote_configured(host):
        pytest.skip("no backup_remote_bucket in this scenario: backups stay on the host")
    assert backup in host.check_output(f"{REMOTE_CLI} list").split()


def test_a_missing_backup_stops_the_restore_before_anything_is_touched(host, backup, scenario):
    rc, out = restore(scenario, "-e", "backup_restore_name=19990101T000000Z")
    assert rc != 0
    assert "no complete backup '19990101T000000Z'" in out, out[-3000:]
    assert host.service("mlflow.service").is_running
    assert host.service("mlops-model-server.service").is_running


def test_destroyed_data_comes_back_from_the_backup(host, platform, backup, prometheus, scenario):
    wait_ready(platform)
    before = record(host, platform)
    assert before["objects"] and before["mlflow"]["versions"], before
    # the disaster: every database dropped, the bucket emptied, the logins gone
    dbs = group_vars("databases")["mlops_databases"]
    ports = group_vars("ports")["mlops_ports"]
    single = "single" in host.backend.get_hostname()
    for name in dbs:
        port = ports["postgres_single"] if single else ports[f"postgres_{name}"]
        host.check_output(f"runuser -u postgres -- dropdb --force -p {port} {name}")
    assert s3_objects(host, delete=True) == before["objects"]
    assert s3_objects(host) == {}
    host.check_output("rm /var/lib/mlops/mlflow/basic_auth.db")

    extra = ["-e", f"backup_restore_name={backup}"]
    if remote_configured(host):  # the host's copy is lost too: it comes from the remote
        host.check_output(f"rm -r {BACKUP_DIR}/{backup}")
        extra += ["-e", "backup_restore_from_remote=true"]
    start = time.monotonic()
    rc, out = restore(scenario, *extra)
    assert rc == 0, out[-6000:]
    print(f"restore.yml of {backup} ({' '.join(extra[1::2])}) took {time.monotonic() - start:.0f}s")

    wait_ready(platform)
    after = record(host, platform)
    for part in before:
        assert after[part] == before[part], part
    # the restored registry and bucket serve the Production version again
    production = before["mlflow"]["aliases"]["Production"]
    answer = platform.api.post("/invocations", json=ROW)
    assert answer.status_code == 200, answer.text
    assert answer.json()["model"]["version"] == production
    # the monitoring sees every service again (the tests after this one rely on it)
    wait_targets_up(prometheus, 120)
