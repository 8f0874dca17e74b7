"""Faults on the converged host, each with clients running through it and a
bound on what they may see: a killed model-server worker, a killed master,
MLflow's PostgreSQL cluster stopped, the whole host restarted, and sustained
load. Every figure measured is printed (the README's "Operations" quotes them).

The model-server faults, the object-store fault, the host restart and the load
run in the default scenario only: none depends on the PostgreSQL layout, which
is what the single-postgres scenario varies."""

from __future__ import annotations

import statistics
import subprocess
import threading
import time
from dataclasses import dataclass, field

import pytest
import requests
from platform_demo import MODEL, ROW
from platform_state import (
    mlflow_state,
    record,
    s3_objects,
    target_units,
    wait_healthy,
    wait_targets_up,
)

# three minutes of closed-loop load after the warm-up
LOAD_SECONDS = 180
# RSS growth of a worker under sustained load that still counts as stable: the
# allocator keeps some pages after the first requests; a leak grows without end
RSS_GROWTH_LIMIT_MB = 20


@dataclass
class Outcome:
    at: float
    ok: bool
    detail: str
    seconds: float


@dataclass
class ClientLoop:
    """Closed-loop clients posting predictions straight to the model server on
    127.0.0.1, each request on a new connection, every outcome recorded."""

    url: str
    clients: int = 4
    outcomes: list[Outcome] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def _run(self) -> None:
        while not self._stop.is_set():
            sent = time.monotonic()
            try:
                answer = requests.post(f"{self.url}/invocations", json=ROW, timeout=10)
                ok, detail = answer.status_code == 200, str(answer.status_code)
            except requests.RequestException as exc:
                ok, detail = False, type(exc).__name__
            now = time.monotonic()
            self.outcomes.append(Outcome(now, ok, detail, now - sent))

    def __enter__(self) -> ClientLoop:
        self._threads = [threading.Thread(target=self._run) for _ in range(self.clients)]
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=15)

    def failures(self, after: float = 0.0) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok and o.at >= after]


@pytest.fixture(scope="module")
def server(ports) -> str:
    return f"http://127.0.0.1:{ports['model_server']}"


def master_pid(host) -> int:
    return int(host.check_output("systemctl show -p MainPID --value mlops-model-server"))


def workers(host, master: int) -> list[int]:
    return sorted(int(p) for p in host.check_output(f"pgrep -P {master} || true").split())


def wait_until(check, timeout: float, what: str, step: float = 0.5) -> float:
    start = time.monotonic()
    while not check():
        assert time.monotonic() - start < timeout, f"{what}: not within {timeout}s"
        time.sleep(step)
    return time.monotonic() - start


def every_worker_ready(server: str) -> bool:
    """/ready answered 200 ten times in a row: each worker has its model (a request
    lands on any of them)."""
    return all(ready(server) is not None for _ in range(10))


def every_worker_from_cache(server: str) -> bool:
    """Ten answers in a row from workers serving the version from their local copy."""
    for _ in range(10):
        answer = ready(server)
        if answer is None or (answer.get("model") or {}).get("source") != "local cache":
            return False
    return True


def ready(server: str) -> dict | None:
    try:
        answer = requests.get(f"{server}/ready", timeout=5)
    except requests.RequestException:
        return None
    return answer.json() if answer.status_code == 200 else None


@pytest.mark.usefixtures("default_scenario_only")
def test_a_killed_worker_costs_at_most_its_in_flight_requests(host, server):
    master = master_pid(host)
    before = workers(host, master)
    assert len(before) >= 2, before
    with ClientLoop(server) as loop:
        time.sleep(3)
        killed_at = time.monotonic()
        host.check_output(f"kill -9 {before[0]}")
        took = wait_until(
            lambda: len(now := workers(host, master)) == len(before) and before[0] not in now,
            60,
            "gunicorn did not replace the killed worker",
        )
        time.sleep(5)
    # the replacement has loaded its model (the next test needs every worker serving)
    wait_until(lambda: every_worker_ready(server), 60, "the new worker did not load its model")
    assert master_pid(host) == master
    failed = loop.failures()
    print(
        f"worker replaced in {took:.1f}s; {len(loop.outcomes)} requests, "
        f"{len(failed)} failed: {[f.detail for f in failed]}"
    )
    # each client has at most one request in flight on the killed worker
    assert len(failed) <= loop.clients
    assert all(f.at < killed_at + took + 1 for f in failed)


@pytest.mark.usefixtures("default_scenario_only")
def test_a_killed_master_is_restarted_by_systemd(host, server):
    master = master_pid(host)
    with ClientLoop(server) as loop:
        time.sleep(3)
        killed_at = time.monotonic()
        host.check_output(f"kill -9 {master}")
        took = wait_until(
            lambda: master_pid(host) not in (0, master) and ready(server) is not None,
            120,
            "systemd did not bring the model server back",
        )
        time.sleep(5)
    recovered_at = killed_at + took
    failed = loop.failures()
    down = (failed[-1].at - failed[0].at) if failed else 0.0
    print(
        f"master killed: ready again after {took:.1f}s; {len(failed)} of {len(loop.outcomes)} "
        f"requests failed, over {down:.1f}s"
    )
    # refused while it was down, none once it is ready again
    assert not loop.failures(after=recovered_at)


def test_the_model_server_outlives_mlflow_database_outage(host, server, ports, platform):
    """MLflow's cluster stopped: predictions go on with the loaded model, readiness
    says the registry is unreachable, MLflow answers errors quickly; the model server
    restarted meanwhile serves its local copy of the version; everything recovers on
    its own once the cluster is back."""
    # databases.yml: the cluster is "main" with postgres_single_instance, else "mlflow"
    unit = "postgresql@15-" + ("main" if "single" in host.backend.get_hostname() else "mlflow")
    mlflow = f"http://127.0.0.1:{ports['mlflow']}/mlflow"
    wait_until(lambda: every_worker_ready(server), 60, "not every worker has its model")
    assert ready(server)["registry"]["registry_reachable"]
    with ClientLoop(server, clients=2) as loop:
        # masked for the outage: otherwise a dependent unit's restart starts it again (Wants=)
        host.check_output(f"systemctl mask --runtime {unit} && systemctl stop {unit}")
        stopped_at = time.monotonic()
        try:
            noticed = wait_until(
                lambda: (
                    not (ready(server) or {"registry": {"registry_reachable": True}})["registry"][
                        "registry_reachable"
                    ]
                ),
                90,
                "readiness did not report the registry unreachable",
            )
            start = time.monotonic()
            answer = requests.get(
                f"{mlflow}/api/2.0/mlflow/registered-models/alias",
                params={"name": MODEL, "alias": "Production"},
                auth=("admin", platform.secret("mlflow_admin")),
                timeout=30,
            )
            answered = time.monotonic() - start
            assert answer.status_code >= 500, answer.status_code
            # the unit restarted with the registry down: every worker serves the cached copy
            restart = time.monotonic()
            host.check_output("systemctl restart mlops-model-server")
            cached = wait_until(
                lambda: every_worker_from_cache(server), 120, "the restart serves no cached copy"
            )
            back = time.monotonic()
        finally:
            host.check_output(f"systemctl unmask --runtime {unit} && systemctl start {unit}")
        restarted_at = time.monotonic()
        recovered = wait_until(
            lambda: (ready(server) or {}).get("registry", {}).get("registry_reachable"),
            120,
            "the model server did not reach the registry again",
        )
    print(
        f"{unit} stopped: readiness noticed after {noticed:.0f}s, MLflow answered "
        f"{answer.status_code} in {answered:.1f}s; the model server restarted meanwhile "
        f"served its cached copy after {cached:.0f}s; registry reachable again "
        f"{recovered:.0f}s after the cluster restart; {len(loop.outcomes)} predictions "
        f"meanwhile, {len(loop.failures())} failed, "
        f"{len(loop.failures()) - len(loop.failures(after=restart))} before the unit restart"
    )
    assert answered < 15
    # none failed but while the unit itself restarted
    assert not [f for f in loop.failures() if f.at < restart or f.at > back]
    assert restarted_at - stopped_at < 180
    # every unit of the platform is back without a manual step
    took = wait_healthy(ports, 180)
    wait_until(
        lambda: all(host.service(u).is_running for u in target_units(host)),
        120,
        "not every unit of mlops.target came back",
        step=2,
    )
    print(f"every endpoint healthy {took:.0f}s after the cluster restarted")


@pytest.mark.usefixtures("default_scenario_only")
def test_training_without_the_object_store_fails_clearly_and_its_retry_succeeds(host, platform):
    """The object store stopped while dag_training runs: the task fails with the
    reason, Airflow retries it once the store is back, and no registered version
    lacks its artifacts."""
    unit = "seaweedfs.service"  # the default object_store_backend, the one converged here
    before = mlflow_state(platform.mlflow)["versions"]
    airflow = platform.airflow()
    runs = "/api/v2/dags/dag_training/dagRuns"
    host.check_output(f"systemctl mask --runtime {unit} && systemctl stop {unit}")
    try:
        run_id = airflow.trigger("dag_training")
        started = time.monotonic()

        def first_try() -> dict | None:
            tries = airflow.task_instances("dag_training", run_id)
            return next((t for t in tries if t["state"] in ("up_for_retry", "failed")), None)

        failed_after = wait_until(lambda: first_try() is not None, 600, "no try failed", step=3)
    finally:
        host.check_output(f"systemctl unmask --runtime {unit} && systemctl start {unit}")
    task = first_try()
    assert task["state"] == "up_for_retry", task  # Airflow will try again
    log = airflow.session.get(
        f"{runs}/{run_id}/taskInstances/{task['task_id']}/logs/1",
        params={"full_content": "true"},
        headers={"Accept": "application/json"},
    )
    assert "Is the object store up?" in log.text, log.text[-3000:]
    # what the demo prints when a run fails: the tail of the failed try's log has the reason
    tail = "\n".join(airflow.log_tail("dag_training", run_id, task))
    assert "Is the object store up?" in tail, tail
    airflow.wait("dag_training", run_id, timeout=900)
    tries = max(t["try_number"] for t in airflow.task_instances("dag_training", run_id))
    print(
        f"object store down: the first try failed after {failed_after:.0f}s, "
        f"the run succeeded on try {tries} {time.monotonic() - started:.0f}s after its start"
    )
    after = mlflow_state(platform.mlflow)["versions"]
    assert set(after) > set(before), "the retry registered no version"
    keys = s3_objects(host)
    for version, source, _ in after:
        assert source.startswith("models:/"), source
        model_id = source.removeprefix("models:/")
        assert any(f"{model_id}/artifacts/MLmodel" in key for key in keys), (version, source)


@pytest.mark.usefixtures("default_scenario_only")
def test_a_restarted_host_comes_back_with_the_same_data(host, server, ports, platform, prometheus):
    before = record(host, platform)
    name = host.backend.get_hostname()
    start = time.monotonic()
    subprocess.run(
        ["docker", "restart", "--time", "60", name], check=True, capture_output=True, timeout=180
    )
    took = wait_healthy(ports, 300)
    wait_until(lambda: ready(server) is not None, 180, "the model server is not ready")
    back = time.monotonic() - start
    failed = [u for u in target_units(host) if not host.service(u).is_running]
    assert not failed, failed
    print(f"host restarted: endpoints healthy after {took:.0f}s, model served after {back:.0f}s")
    assert record(host, platform) == before
    wait_targets_up(prometheus, 120)


@pytest.mark.usefixtures("default_scenario_only")
def test_sustained_load_is_served_without_errors_or_growth(host, server):
    master = master_pid(host)

    def rss_mb() -> dict[int, float]:
        return {
            pid: int(host.check_output(f"ps -o rss= -p {pid}")) / 1024
            for pid in workers(host, master)
        }

    start = time.monotonic()
    with ClientLoop(server, clients=4) as loop:
        time.sleep(15)  # warm: the first requests allocate what a worker keeps
        samples = [rss_mb()]  # every 30 s: a leak shows as a steady climb
        for _ in range(LOAD_SECONDS // 30):
            time.sleep(30)
            samples.append(rss_mb())
    elapsed = time.monotonic() - start
    warm, end = samples[0], samples[-1]
    assert set(end) == set(warm), "a worker was replaced during the load"
    growth = {pid: end[pid] - warm[pid] for pid in warm}
    rate = len(loop.outcomes) / elapsed
    latencies = statistics.quantiles([o.seconds * 1000 for o in loop.outcomes], n=100)
    print(
        f"{len(loop.outcomes)} requests in {elapsed:.0f}s ({rate:.0f}/s, 4 clients, "
        f"p50 {latencies[49]:.1f} ms, p99 {latencies[98]:.1f} ms); worker RSS "
        + "; ".join("->".join(f"{s[p]:.0f}" for s in samples) + " MB" for p in warm)
    )
    assert not loop.failures()
    assert max(growth.values()) < RSS_GROWTH_LIMIT_MB, growth
