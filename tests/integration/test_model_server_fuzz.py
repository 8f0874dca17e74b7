"""Fuzzing of the live model server (gunicorn, 2 workers, a real model from the
real MLflow) from its own OpenAPI description with schemathesis: thousands of
generated requests, valid and invalid, must get no 5xx, answers that match the
description, and no worker may crash."""

from __future__ import annotations

import os
import subprocess
from collections import Counter

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from ml import data, promote, training
from tests.harness import model_server

EXAMPLES = int(os.environ.get("MLOPS_FUZZ_EXAMPLES", "1500"))  # per operation and mode


def workers(master: int) -> set[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(master)],
                         capture_output=True, text=True, check=False).stdout  # fmt: skip
    return {int(pid) for pid in out.split()}


@pytest.fixture(scope="module")
def server(platform):
    cfg = platform.settings("fuzz-model")
    data.load_reference(cfg.app_db_url)
    trained = training.train_candidate(families=("logistic_regression",), cfg=cfg)
    promote.promote("Production", version=trained.best.version, model_name=cfg.model_name,
                    tracking_uri=cfg.tracking_uri)  # fmt: skip
    proc = model_server(platform.env(cfg), workers=2).start()
    base = proc.wait_ready()
    try:
        yield base, proc
    finally:
        proc.stop()


def test_the_description_is_served_and_every_operation_parses(server):
    base, _ = server
    served = requests.get(f"{base}/openapi.json", timeout=5).json()
    schema = schemathesis.openapi.from_dict(served)
    operations = [result.ok() for result in schema.get_all_operations()]  # raises on an Err
    assert {(op.method.upper(), op.path) for op in operations} == {
        ("POST", "/invocations"), ("GET", "/ping"), ("GET", "/version"), ("GET", "/health"),
        ("GET", "/ready"), ("GET", "/model"), ("GET", "/metrics"),
        ("GET", "/openapi.json")}  # fmt: skip


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_fuzzed_predictions_get_no_server_error(server, mode):
    base, proc = server
    before = workers(proc.proc.pid)
    assert len(before) == 2
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    operation = schema["/invocations"]["POST"]
    statuses: Counter[int] = Counter()
    session = requests.Session()

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(case=operation.as_strategy(generation_mode=mode))
    def fuzz(case):
        response = case.call(base_url=base, session=session, timeout=10)
        statuses[response.status_code] += 1
        assert response.status_code < 500, (response.status_code, response.text[:300])
        # status, content type and body as described. Not "schema-valid data is accepted"
        # nor "schema-violating data is refused": the description cannot say "columns of
        # equal length" or "a string MLflow can convert to a number"; which bodies are
        # scored is MLflow's own decision, proven against it by test_mlflow_parity.
        case.validate_response(
            response, excluded_checks=[positive_data_acceptance, negative_data_rejection]
        )

    fuzz()
    sent = sum(statuses.values())
    print(f"{mode.value}: {sent} requests, answers by status {dict(sorted(statuses.items()))}")
    assert sent >= EXAMPLES // 2
    assert workers(proc.proc.pid) == before, "a worker was replaced: it crashed or timed out"
    assert "WORKER TIMEOUT" not in proc.log.read_text()
    assert proc.proc.poll() is None, "the gunicorn master exited"
