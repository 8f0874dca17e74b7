"""What the platform holds, recorded so that a test can prove nothing was lost:
MLflow's experiments, runs, metrics, versions and aliases (its API), the rows
of every app-db table and of Airflow's runs (psql on the host), and the sha256
of every object of the artifact bucket (boto3 on the host, with the backup's
S3 login, which never appears on a command line)."""

from __future__ import annotations

import base64
import json
import time

import requests
from platform_demo import MODEL, aliases, group_vars

# boto3 of the backup venv, with the backup's S3 login (never on a command line)
S3_CLI = (
    "systemd-run --quiet --wait --pipe --collect -p EnvironmentFile=/etc/mlops/backup.env "
    "/opt/mlops/venvs/mlflow/bin/python -"
)
S3_OBJECTS = """
import hashlib, json, os, sys
import boto3
s3 = boto3.client("s3", endpoint_url=os.environ["MLOPS_BACKUP_S3_ENDPOINT"])
bucket = os.environ["MLOPS_BACKUP_BUCKET"]
found = {}
for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
    for o in page.get("Contents", []):
        body = s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
        found[o["Key"]] = hashlib.sha256(body).hexdigest()
        if "DELETE" == sys.argv[-1]:
            s3.delete_object(Bucket=bucket, Key=o["Key"])
print(json.dumps(found))
"""


def s3_objects(host, delete: bool = False) -> dict[str, str]:
    script = base64.b64encode(S3_OBJECTS.encode()).decode()
    out = host.check_output(f"echo {script} | base64 -d | {S3_CLI}" + (" DELETE" if delete else ""))
    return json.loads(out)


def psql(host, port: int, db: str, sql: str) -> str:
    return host.check_output(f'runuser -u postgres -- psql -p {port} -d {db} -tAc "{sql}"')


# Airflow's own bookkeeping (jobs, logs, heartbeats) grows with every restart: its
# runs are what must not be lost
ONLY_TABLES = {"airflow": ["dag_run", "task_instance"]}


def table_rows(host, port: int, db: str) -> dict[str, int]:
    """Rows of every table of the public schema (or of ONLY_TABLES)."""
    tables = (
        ONLY_TABLES.get(db)
        or psql(
            host, port, db, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).split()
    )
    assert tables, f"no tables in {db}"
    return {t: int(psql(host, port, db, f'SELECT count(*) FROM \\"{t}\\"')) for t in tables}


def mlflow_state(mlflow) -> dict:
    experiments = mlflow.post("/api/2.0/mlflow/experiments/search", json={"max_results": 1000})
    ids = sorted(e["experiment_id"] for e in experiments.json()["experiments"])
    runs = mlflow.post(
        "/api/2.0/mlflow/runs/search", json={"experiment_ids": ids, "max_results": 1000}
    ).json()["runs"]
    versions = mlflow.get(
        "/api/2.0/mlflow/model-versions/search", params={"filter": f"name='{MODEL}'"}
    ).json()["model_versions"]
    return {
        "experiments": ids,
        "runs": sorted((r["info"]["run_id"], r["info"]["status"]) for r in runs),
        "metrics": sorted(
            (r["info"]["run_id"], m["key"], m["value"]) for r in runs for m in r["data"]["metrics"]
        ),
        "versions": sorted((int(v["version"]), v["source"], v.get("run_id")) for v in versions),
        "aliases": aliases(mlflow),
    }


def record(host, platform) -> dict:
    dbs = group_vars("databases")
    ports = group_vars("ports")["mlops_ports"]
    single = "single" in host.backend.get_hostname()

    def port(name: str) -> int:
        return ports["postgres_single"] if single else ports[f"postgres_{name}"]

    return {
        "mlflow": mlflow_state(platform.mlflow),
        **{f"{db}-db": table_rows(host, port(db), db) for db in dbs["mlops_databases"]},
        "objects": s3_objects(host),
    }


def model_server_env(host, key: str) -> str:
    """A value of the model server's env file (root and the service's group only) on the host."""
    for line in host.file("/etc/mlops/model-server.env").content_string.splitlines():
        if line.startswith(f"{key}="):
            return line.split("=", 1)[1]
    raise AssertionError(f"{key} is not in model-server.env")


def target_units(host) -> list[str]:
    wants = host.check_output("systemctl show mlops.target -p Wants --value").split()
    return sorted(u for u in wants if u.endswith(".service"))


def wait_healthy(ports: dict, timeout: float) -> float:
    """Seconds until every HTTP endpoint answers; fails with what is still down."""
    checks = {
        "mlflow": f"http://127.0.0.1:{ports['mlflow']}/mlflow/health",
        "airflow": f"http://127.0.0.1:{ports['airflow_api']}/airflow/api/v2/monitor/health",
        "model server": f"http://127.0.0.1:{ports['model_server']}/health",
        "tag watcher": f"http://127.0.0.1:{ports['tag_watcher']}/metrics",
    }
    start = time.monotonic()
    down = dict(checks)
    while down and time.monotonic() - start < timeout:
        for name, url in list(down.items()):
            try:
                if requests.get(url, timeout=3).status_code == 200:
                    del down[name]
            except requests.RequestException:
                pass
        time.sleep(1)
    assert not down, f"still down after {timeout}s: {sorted(down)}"
    return time.monotonic() - start


def wait_targets_up(prometheus, timeout: float) -> None:
    """Every Prometheus target up again (after a restart, at the next scrape of each)."""
    deadline = time.monotonic() + timeout
    while True:
        targets = prometheus.get("/api/v1/targets").json()["data"]["activeTargets"]
        down = [(t["labels"]["job"], t["lastError"]) for t in targets if t["health"] != "up"]
        if not down:
            return
        assert time.monotonic() < deadline, f"targets not up: {down}"
        time.sleep(5)
