"""The article's demo path end to end, against real services and real processes:
load -> train -> promote -> serve -> move the alias under load -> infer -> monitor,
with the tag watcher recording both alias moves."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time

import psycopg
import pytest
import requests

from ml import data, inference, promote, registry, training
from tests.harness import REPO, free_port, model_server, tag_watcher

POLL_SECONDS = 2.0
ROW = {"dataframe_split": {"columns": list(data.FEATURES), "data": [[5.9, 3.0, 5.1, 1.8]]}}


class ClientLoop(threading.Thread):
    """Sends requests back to back and records every answer."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.stop = threading.Event()
        self.answers: list[tuple[float, int, int | None]] = []  # (time, status, version)
        self.errors: list[str] = []

    def run(self) -> None:
        session = requests.Session()
        deadline = time.monotonic() + 120  # bounded, whatever happens
        while not self.stop.is_set() and time.monotonic() < deadline:
            try:
                r = session.post(f"{self.url}/invocations", json=ROW, timeout=5)
                version = r.json().get("model", {}).get("version") if r.ok else None
                self.answers.append((time.monotonic(), r.status_code, version))
                if r.status_code != 200:
                    self.errors.append(f"{r.status_code}: {r.text[:200]}")
            except requests.RequestException as exc:
                self.answers.append((time.monotonic(), 0, None))
                self.errors.append(repr(exc))


def check_predict_request_script(base: str, version: int) -> None:
    """scripts/predict_request.py: the answer and its version; 1 on an error; 2 when down."""
    script = [sys.executable, str(REPO / "scripts" / "predict_request.py")]
    ok = subprocess.run([*script, "--url", base], capture_output=True, text=True, check=False)
    assert ok.returncode == 0 and f"version {version}" in ok.stdout, ok.stdout + ok.stderr
    bad = subprocess.run(
        [*script, "--url", base, "--payload", '{"instances": [[1, 2]]}'],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 1 and "422" in bad.stderr and "has 2 values" in bad.stderr
    down = subprocess.run(
        [*script, "--url", f"http://127.0.0.1:{free_port()}"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert down.returncode == 2 and "cannot reach" in down.stderr


@pytest.fixture(scope="module")
def cfg(platform):
    return platform.settings("iris-classifier")


def test_demo_path(platform, cfg):
    env = {
        **platform.env(cfg),
        "MLOPS_ALIAS_POLL_SECONDS": str(POLL_SECONDS),
        "MLOPS_WATCH_POLL_SECONDS": "1",
    }
    data.load_reference(cfg.app_db_url)
    data.load_batch(cfg.app_db_url, "day-1")

    trained = training.train_candidate(cfg=cfg)
    assert len(trained.versions) >= 4
    client = registry.client(cfg.tracking_uri)
    assert registry.aliases(client, cfg.model_name) == {"candidate": trained.best.version}

    watcher = tag_watcher(env).start()
    server = model_server(env, workers=2)
    try:
        first = promote.promote(
            "Production",
            from_alias="candidate",
            model_name=cfg.model_name,
            tracking_uri=cfg.tracking_uri,
        )
        base = server.start().wait_ready()
        answer = requests.post(f"{base}/invocations", json=ROW, timeout=5).json()
        assert answer["model"] == {"name": cfg.model_name, "version": first, "alias": "Production"}
        # what the registered version itself predicts for the row, not just any class
        local = registry.load_sklearn(cfg.tracking_uri, cfg.model_name, first)
        assert answer["predictions"] == local.predict(ROW["dataframe_split"]["data"]).tolist()
        check_predict_request_script(base, first)

        # move the alias while a client hammers the server
        second = next(v.version for v in trained.versions if v.version != first)
        loop = ClientLoop(base)
        loop.start()
        time.sleep(1.0)
        moved_at = time.monotonic()
        promote.promote(
            "Production", version=second, model_name=cfg.model_name, tracking_uri=cfg.tracking_uri
        )
        time.sleep(2 * POLL_SECONDS + 2.0)  # two polls, plus the bound we check below
        loop.stop.set()
        loop.join(10)

        assert loop.errors == [], loop.errors[:5]
        after = [(t, v) for t, _, v in loop.answers if t > moved_at]
        # every worker serves the new version within two poll intervals of the move:
        # from then on, no answer comes from the old version
        settle = moved_at + 2 * POLL_SECONDS
        late_old = [t - moved_at for t, v in after if t > settle and v != second]
        assert late_old == [], f"old version still answered {late_old[:3]} s after the move"
        assert any(v == second for _, v in after)
        assert len(after) > 20, "the client loop should have kept sending"

        metrics = requests.get(f"{base}/metrics", timeout=5).text
        loaded = re.search(
            rf'mlops_model_loaded{{alias="Production",model="{cfg.model_name}",'
            rf'version="{second}"}} (\S+)',
            metrics,
        )
        assert loaded and float(loaded.group(1)) == 1.0, metrics[:2000]
        assert re.search(r"mlops_model_reloads_total \d+", metrics)
        assert 'mlops_http_requests_total{endpoint="/invocations",status="200"}' in metrics

        # batch inference with the new Production version
        data.load_batch(cfg.app_db_url, "day-2")
        scored = inference.run_inference(cfg=cfg)
        assert scored.model_version == second
        assert scored.rows == 100  # day-1 and day-2, 50 rows each
        with psycopg.connect(cfg.app_db_url) as conn:
            made_by = conn.execute(
                "SELECT DISTINCT model_version, model_alias FROM predictions"
            ).fetchall()
        assert made_by == [(second, "Production")]

        monitored = training.evaluate_models(cfg=cfg)
        assert {(e.alias, e.version) for e in monitored.evaluations} == {
            ("candidate", trained.best.version),
            ("Production", second),
        }
        assert set(monitored.drift) == set(data.FEATURES)

        # the tag watcher recorded both moves of Production
        deadline = time.monotonic() + 15
        while True:
            with psycopg.connect(cfg.app_db_url) as conn:
                moves = conn.execute(
                    "SELECT old_value, new_value FROM registry_events WHERE model_name = %s"
                    " AND kind = 'alias' AND key = 'Production' ORDER BY id",
                    (cfg.model_name,),
                ).fetchall()
            if len(moves) >= 2 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert moves == [(None, str(first)), (str(first), str(second))]
        watcher_metrics = requests.get(watcher.health_url, timeout=5).text
        assert (
            f'mlops_registry_alias_version{{alias="Production",model="{cfg.model_name}"}} '
            f"{float(second)}"
        ) in watcher_metrics
        assert "registry change" in watcher.log.read_text()
    finally:
        server.stop()
        watcher.stop()
