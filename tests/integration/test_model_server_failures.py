"""What the model server does when the registry or a version misbehaves, against the
real MLflow: an unset alias is its own state (not "registry unreachable"), removing
the alias stops serving, a broken new version is refused at load (the previous one
stays) or answers 5xx (never a 4xx), a failing version is retried with back-off, and a
worker restarted while MLflow is down serves its local copy of the version."""

from __future__ import annotations

import json
import time

import pytest

from ml import data, registry, training
from server import model_loader
from server.alias_follower import ModelHolder
from server.app import create_app
from server.model_cache import ModelCache
from tests.harness import free_port

COLUMNS = list(data.FEATURES)
ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]
NAME = "failing-model"


def post(client, body):
    return client.post("/invocations", data=json.dumps(body), content_type="application/json")


def metric(client, name: str) -> float:
    for line in client.get("/metrics").data.decode().splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.split()[-1])
    raise AssertionError(f"{name} is not exposed")


@pytest.fixture(scope="module")
def good(platform):
    """A healthy version of NAME: logistic regression on the reference set."""
    cfg = platform.settings(NAME)
    data.load_reference(cfg.app_db_url)
    return cfg, training.train_candidate(families=("logistic_regression",), cfg=cfg).best.version


def broken_version(tracking_uri: str, with_example: bool) -> int:
    """A version whose estimator was fit on four features but whose signature has three:
    it loads, and fails on every input that matches its signature."""
    import mlflow  # noqa: PLC0415
    import pandas as pd  # noqa: PLC0415
    from mlflow.models import infer_signature  # noqa: PLC0415
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415

    x, y = data._iris()
    model = LogisticRegression(max_iter=500).fit(x, y)
    three = pd.DataFrame(x[:5, :3], columns=COLUMNS[:3])
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment(f"{NAME}-broken")
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            signature=infer_signature(three, y[:5]),
            input_example=three if with_example else None,
            registered_model_name=NAME,
        )
    return int(info.registered_model_version)


def set_alias(cfg, alias: str, version: int) -> None:
    registry.client(cfg.tracking_uri).set_registered_model_alias(NAME, alias, str(version))


def test_an_unset_alias_is_its_own_state_and_removing_it_stops_serving(good):
    cfg, version = good
    holder = ModelHolder.for_registry(cfg.tracking_uri, NAME, "Staging")
    holder.check_once()
    client = create_app(holder).test_client()
    ready = client.get("/ready")
    assert ready.status_code == 503
    assert ready.json["state"] == "alias-not-set"
    assert ready.json["registry"]["registry_reachable"] is True  # not an unreachable registry
    assert metric(client, "mlops_registry_reachable") == 1
    assert metric(client, "mlops_model_alias_set") == 0
    answer = post(client, {"instances": ROWS})
    assert answer.status_code == 503 and "promote one first" in answer.json["error"]

    set_alias(cfg, "Staging", version)
    holder.check_once()
    assert client.get("/ready").json["state"] == "serving"
    assert metric(client, "mlops_model_alias_set") == 1
    assert post(client, {"instances": ROWS}).status_code == 200

    registry.client(cfg.tracking_uri).delete_registered_model_alias(NAME, "Staging")
    holder.check_once()
    assert holder.current is None
    assert client.get("/ready").json["state"] == "alias-not-set"
    assert post(client, {"instances": ROWS}).status_code == 503
    assert metric(client, "mlops_model_alias_set") == 0


def test_a_version_that_fails_on_its_own_example_is_refused_and_retried_with_back_off(good):
    cfg, version = good
    set_alias(cfg, "Canary", version)
    holder = ModelHolder.for_registry(cfg.tracking_uri, NAME, "Canary", poll_seconds=0.5)
    loads: list[int] = []
    load = holder.load
    holder.load = lambda v: (loads.append(v), load(v))[1]
    holder.check_once()
    client = create_app(holder).test_client()
    failures_before = metric(client, "mlops_model_reload_failures_total")

    broken = broken_version(cfg.tracking_uri, with_example=True)
    set_alias(cfg, "Canary", broken)
    holder.check_once()
    assert holder.current.version == version  # the previous version stays in service
    assert post(client, {"instances": ROWS}).json["model"]["version"] == version
    assert metric(client, "mlops_model_reload_failures_total") == failures_before + 1
    ready = client.get("/ready").json
    assert ready["state"] == "serving" and ready["registry"]["failed_version"] == broken
    assert "fails on its own input example" in ready["registry"]["last_error"]

    for _ in range(5):  # within the back-off: the failed version is not fetched again
        holder.check_once()
    assert loads.count(broken) == 1
    holder.retry_at = 0.0  # the back-off is over
    holder.check_once()
    assert loads.count(broken) == 2 and holder.failures == 2
    assert holder.retry_at - time.monotonic() > 0.5  # the back-off doubled: 1 s now
    assert metric(client, "mlops_model_reload_failures_total") == failures_before + 2

    set_alias(cfg, "Canary", version)  # moved back: served at once, the failure forgotten
    holder.check_once()
    assert holder.failed_version is None and holder.last_error is None


def test_a_version_that_fails_on_valid_input_answers_5xx_not_4xx(good):
    cfg, _ = good
    broken = broken_version(cfg.tracking_uri, with_example=False)
    set_alias(cfg, "Broken", broken)
    holder = ModelHolder.for_registry(cfg.tracking_uri, NAME, "Broken")
    holder.check_once()
    assert holder.current is not None and holder.current.version == broken, holder.last_error
    client = create_app(holder).test_client()
    answer = post(client, {"dataframe_split": {"columns": COLUMNS[:3], "data": [[5.1, 3.5, 1.4]]}})
    assert answer.status_code == 500, answer.json
    assert (
        f"version {broken} failed to score an input that matches its signature"
        in (answer.json["error"])
    )
    # a bad request to the same version is still the client's: 422
    assert post(client, {"instances": [[5.1, 3.5]]}).status_code == 422


def test_a_worker_restarted_while_mlflow_is_down_serves_the_cached_version(good, tmp_path):
    cfg, version = good
    set_alias(cfg, "Cached", version)
    body = {"dataframe_split": {"columns": COLUMNS, "data": ROWS}}
    first = ModelHolder.for_registry(cfg.tracking_uri, NAME, "Cached", cache_dir=str(tmp_path))
    first.check_once()
    assert first.current.source == "registry", first.last_error
    expected = post(create_app(first).test_client(), body).json["predictions"]

    # a worker (or the unit) restarted with MLflow and its artifacts unreachable
    dead = f"http://127.0.0.1:{free_port()}"
    restarted = ModelHolder.for_registry(dead, NAME, "Cached", cache_dir=str(tmp_path))
    restarted.check_once()
    client = create_app(restarted).test_client()
    ready = client.get("/ready")
    assert ready.status_code == 200, ready.json
    assert ready.json["model"]["source"] == "local cache"
    assert ready.json["model"]["version"] == version
    assert ready.json["registry"]["registry_reachable"] is False
    answer = post(client, body)
    assert answer.status_code == 200 and answer.json["predictions"] == expected

    # the registry answers but the artifacts cannot be fetched: the cached copy is used
    mixed = ModelHolder.for_registry(cfg.tracking_uri, NAME, "Cached", cache_dir=str(tmp_path))
    mixed.load = lambda v: model_loader.load(dead, NAME, v, "Cached", ModelCache(tmp_path))
    mixed.check_once()
    assert mixed.current is not None and mixed.current.source == "local cache", mixed.last_error

    # without a cache, the same restart has nothing to serve
    bare = ModelHolder.for_registry(dead, NAME, "Cached")
    bare.check_once()
    assert bare.current is None and bare.state() == "registry-unreachable"
