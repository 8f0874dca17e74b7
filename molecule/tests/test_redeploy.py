"""Redeploys without a failed request, as a user makes them: `site.yml` over SSH (from
ansible/, with Terraform's inventory) while clients send predictions through the HTTPS
entry point all along.

1. New settings (three model-server workers instead of two, a larger body limit on the
   API's location): the model server is reloaded, not restarted (its master stays; its
   workers are all new, three of them), and so is nginx (master stays, workers new).
2. The settings back, with the deployed code counted as changed (what a new code bundle
   sets): both reloaded again.

Every request of the clients must be answered 200. The clients resend a request once
when the server closed their kept-alive connection as it went out, as browsers and curl
do: nginx's reload closes its old workers' idle connections, which HTTP/1.1
allows at any time (measured: 1 such request of about 1,900 in one reload); how many were
resent is printed."""

from __future__ import annotations

import time

import local_vm
from platform_demo import ROW, Client, wait_serving
from platform_state import model_server_env

from tests.client_loop import ClientLoop

SERVER = "mlops-model-server"


def processes(host, unit: str) -> tuple[int, set[int]]:
    """The unit's main process and its children (gunicorn's or nginx's workers)."""
    master = int(host.check_output(f"systemctl show -p MainPID --value {unit}"))
    children = host.check_output(f"ps -o pid= --ppid {master} || true").split()
    return master, {int(pid) for pid in children}


def clients(platform) -> ClientLoop:
    """Predictions through the HTTPS entry point with the API token, up to 100 a second:
    a gap of a tenth of a second fails some, and the playbook's run on a small machine
    is not slowed down much. A request whose connection was dropped is sent once more."""
    return ClientLoop(
        lambda session: session.post("/invocations", json=ROW, timeout=30),
        new_session=lambda: Client(
            platform.api.base, verify=platform.api.verify, token=platform.secret("api_token")
        ),
        clients=2,
        pause=0.02,
        retry_dropped=True,
    )


def redeploy_under_load(host, platform, scenario, extra: list[str], workers: int) -> None:
    before = {unit: processes(host, unit) for unit in (SERVER, "nginx")}
    with clients(platform) as loop:
        rc, out, seconds = local_vm.site(scenario, extra, echo=False, timeout=900)
        assert rc == 0, out[-4000:]
        # the clients go on until the model server has only new workers, and a little longer
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            now = processes(host, SERVER)[1]
            if len(now) == workers and not now & before[SERVER][1]:
                break
            time.sleep(0.2)
        time.sleep(2)
    after = {unit: processes(host, unit) for unit in (SERVER, "nginx")}
    print(f"site.yml {' '.join(extra)}: {seconds:.0f} s, {local_vm.recap(out)}; {loop.summary()}")
    assert loop.failures == [], loop.failures[:10]
    assert loop.ok > 20, loop.summary()
    for unit in (SERVER, "nginx"):
        assert after[unit][0] == before[unit][0], f"{unit} was restarted, not reloaded"
        assert after[unit][1] and not after[unit][1] & before[unit][1], (unit, before, after)
    assert len(after[SERVER][1]) == workers, after


def test_settings_and_code_redeploy_without_a_failed_request(
    default_scenario_only, host, platform, scenario
):
    ready = platform.api.get("/ready")
    assert ready.status_code == 200, f"no model is served (the demo path serves one): {ready.text}"
    workers = int(model_server_env(host, "MLOPS_WORKERS"))
    changed = ["-e", f"model_server_workers={workers + 1}", "-e", "proxy_api_max_body_size=3m"]
    try:
        redeploy_under_load(host, platform, scenario, changed, workers + 1)
        assert model_server_env(host, "MLOPS_WORKERS") == str(workers + 1)
        site = host.file("/etc/nginx/sites-available/mlops.conf").content_string
        assert "client_max_body_size 3m;" in site
        redeploy_under_load(host, platform, scenario, ["-e", "app_code_changed=true"], workers)
    except BaseException:
        # the tests after this one find the scenario's settings again
        local_vm.site(scenario, [], echo=False, timeout=900)
        raise
    assert model_server_env(host, "MLOPS_WORKERS") == str(workers)


def test_the_same_clients_see_a_restart_fail_requests(default_scenario_only, host, platform):
    """The yardstick of the test above: a hard restart of the model server under the
    same clients fails requests (nginx answers 502 while nothing listens), so zero
    failures there is the reload's doing, not a loop that cannot see a gap."""
    version = platform.api.get("/model").json()["version"]
    with clients(platform) as loop:
        time.sleep(1)
        host.check_output(f"systemctl restart {SERVER}")
        wait_serving(platform.api, version, timeout=180)
    print(f"systemctl restart {SERVER}: {loop.summary()}")
    assert loop.failures, loop.summary()
