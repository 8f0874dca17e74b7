"""A reload redeploys the model server without a failed request. The live server
(gunicorn with server/gunicorn_conf.py, a real model from the real MLflow) takes a
client loop while its environment file changes and its master gets SIGHUP, which is
what `systemctl reload mlops-model-server` sends: every request is answered 200, the
master stays, every worker is new, and the file's new settings are in force (systemd
reads that file only at start; the configuration reads it again at each load)."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
import requests

from ml import data, promote, training
from tests.client_loop import ClientLoop
from tests.harness import model_server

ROW = {"dataframe_split": {"columns": ["sepal_length", "sepal_width", "petal_length",
       "petal_width"], "data": [[5.1, 3.5, 1.4, 0.2]]}}  # fmt: skip
# a body over the lowered limit and under the first: 413 only with the new setting
BODY = b'{"inputs": [' + b"0," * 150_000 + b"0]}"
LOWER_LIMIT = 256 * 1024


def workers(master: int) -> set[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(master)],
                         capture_output=True, text=True, check=False).stdout  # fmt: skip
    return {int(pid) for pid in out.split()}


def write_env(path, env: dict[str, str]) -> None:
    path.write_text("".join(f"{key}={value}\n" for key, value in env.items()))


@pytest.fixture(scope="module")
def server(platform, tmp_path_factory):
    cfg = platform.settings("reload-model")
    data.load_reference(cfg.app_db_url)
    trained = training.train_candidate(families=("logistic_regression",), cfg=cfg)
    promote.promote("Production", version=trained.best.version, model_name=cfg.model_name,
                    tracking_uri=cfg.tracking_uri)  # fmt: skip
    proc = model_server(platform.env(cfg), workers=2)
    env_file = tmp_path_factory.mktemp("reload") / "model-server.env"
    write_env(env_file, proc.env)
    proc.env["MLOPS_ENV_FILE"] = str(env_file)
    base = proc.start().wait_ready()
    try:
        yield base, proc, env_file
    finally:
        proc.stop()


def reload_and_wait(proc, expected_workers: int) -> float:
    """SIGHUP to the master; the seconds until only new workers remain."""
    master = proc.proc.pid
    old = workers(master)
    start = time.monotonic()
    os.kill(master, signal.SIGHUP)
    while True:
        now = workers(master)
        if len(now) == expected_workers and not now & old:
            return time.monotonic() - start
        assert time.monotonic() - start < 90, (old, now, proc.log.read_text()[-3000:])
        assert proc.proc.poll() is None, proc.log.read_text()[-3000:]
        time.sleep(0.1)


def body_answer(base: str) -> int:
    return requests.post(f"{base}/invocations", data=BODY, timeout=30,
                         headers={"Content-Type": "application/json"}).status_code  # fmt: skip


def test_a_reload_takes_new_settings_and_fails_no_request(server):
    base, proc, env_file = server
    assert body_answer(base) != 413  # under the limit the server started with
    settings = {**proc.env}
    settings.pop("MLOPS_ENV_FILE")
    with ClientLoop(
        lambda session: session.post(f"{base}/invocations", json=ROW, timeout=30)
    ) as loop:
        time.sleep(2)
        write_env(
            env_file, {**settings, "MLOPS_WORKERS": "3", "MLOPS_MAX_BODY_BYTES": str(LOWER_LIMIT)}
        )
        first = reload_and_wait(proc, 3)
        time.sleep(2)
        assert body_answer(base) == 413  # the new workers have the new limit
        # a setting taken out of the file goes back to the value the server started with
        write_env(env_file, {k: v for k, v in settings.items() if k != "MLOPS_MAX_BODY_BYTES"})
        second = reload_and_wait(proc, 2)
        time.sleep(2)
    print(
        f"2 reloads (workers replaced in {first:.1f} s and {second:.1f} s) under {loop.summary()}"
    )
    assert loop.failures == [], loop.failures[:10]
    assert loop.ok > 50, loop.ok
    assert proc.proc.poll() is None
    assert body_answer(base) != 413
