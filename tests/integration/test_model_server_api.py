"""The model server's HTTP contract, with a real model loaded from the real MLflow:
every input format, and a clear 4xx/503 (never a 500) for every kind of bad input."""

from __future__ import annotations

import io
import json

import pytest

from ml import data, promote, registry, training
from server.alias_follower import ModelHolder
from server.app import create_app
from tests.harness import free_port

COLUMNS = list(data.FEATURES)
ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]
LIMIT = 20_000


def _holder(tracking_uri: str, name: str, alias: str = "Production") -> ModelHolder:
    return ModelHolder.for_registry(tracking_uri, name, alias)


@pytest.fixture(scope="module")
def served(platform):
    cfg = platform.settings("api-model")
    data.load_reference(cfg.app_db_url)
    trained = training.train_candidate(families=("logistic_regression",), cfg=cfg)
    promote.promote(
        "Production",
        version=trained.best.version,
        model_name=cfg.model_name,
        tracking_uri=cfg.tracking_uri,
    )
    holder = _holder(cfg.tracking_uri, cfg.model_name)
    holder.check_once()
    assert holder.current is not None, holder.last_error
    return cfg, holder


@pytest.fixture
def client(served):
    return create_app(served[1], max_body_bytes=LIMIT).test_client()


def post(client, body, content_type="application/json"):
    raw = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post("/invocations", data=raw, content_type=content_type)


def test_the_answer_names_the_version_that_answered(client, served):
    """What each body scores to is proven against ``mlflow models serve`` itself
    (test_mlflow_parity.py); here: the answer says which version gave it."""
    r = post(client, {"dataframe_split": {"columns": COLUMNS, "data": ROWS}})
    assert r.status_code == 200, r.json
    assert r.json["model"] == {
        "name": "api-model",
        "version": served[1].current.version,
        "alias": "Production",
    }


def test_integer_features_are_numbers(client):
    assert post(client, {"instances": [[5, 3, 1, 0]]}).status_code == 200


@pytest.mark.parametrize(
    ("body", "content_type", "status", "hint"),
    [
        ("{not json", "application/json", 400, "malformed JSON"),
        (b"\xff\xfe", "application/json", 400, "malformed JSON"),
        (json.dumps({"instances": ROWS}), "text/plain", 415, "application/json"),
        (json.dumps({"instances": ROWS}), "", 415, "application/json"),
        (json.dumps({"instances": ROWS}), "application/json; charset=latin-1", 415, "UTF-8"),
        (json.dumps({"instances": ROWS}), "application/json; v=2", 415, "parameters ['v']"),
        ("a,b\n1,2\n", "text/csv", 400, "missing inputs"),
        ({"instances": [[5.1, 3.5, 1.4]]}, "application/json", 422, "has 3 values"),
        ({"instances": [5.1, 3.5, 1.4, 0.2]}, "application/json", 422, "must be a list"),
        (
            {"dataframe_split": {"columns": COLUMNS[:3], "data": [[1, 2, 3]]}},
            "application/json",
            422,
            "missing columns ['petal_width']",
        ),
        ({"instances": [[5.1, "wide", 1.4, 0.2]]}, "application/json", 422, "non-numeric"),
        ({"instances": [[5.1, None, 1.4, 0.2]]}, "application/json", 422, "non-numeric"),
        ('{"instances": [[5.1, NaN, 1.4, 0.2]]}', "application/json", 422, "finite"),
        ('{"instances": [[5.1, 1%s, 1.4, 0.2]]}' % ("0" * 400), "application/json", 422, "range"),
        ({"instances": []}, "application/json", 422, "no rows"),
        ("[" * 5000 + "]" * 5000, "application/json", 400, "nested too deeply"),
        ({"rows": ROWS}, "application/json", 422, "exactly one of the keys"),
        ([1, 2], "application/json", 422, "must be an object"),
        ({"instances": ROWS, "inputs": ROWS}, "application/json", 422, "exactly one"),
        ({"inputs": {"sepal_length": [1.0]}}, "application/json", 422, "missing columns"),
    ],
)
def test_bad_input_gets_a_clear_4xx(client, body, content_type, status, hint):
    r = post(client, body, content_type)
    assert r.status_code == status, r.data
    assert hint in r.json["error"]
    assert r.json["error_code"] in {"BAD_REQUEST", "INVALID_PARAMETER_VALUE"}, r.json
    assert r.json["message"], r.json  # MLflow's own words, where MLflow refused it too


def test_what_mlflow_accepts_is_scored(client):
    """Extra columns are dropped, booleans and numeric strings converted, CSV read, as
    ``mlflow models serve`` does (the parity test proves the predictions the same)."""
    record = dict(zip(COLUMNS, ROWS[0], strict=True))
    for body in (
        {"dataframe_records": [{**record, "colour": 1}]},
        {"dataframe_records": [{**record, "sepal_width": True}]},
        {"dataframe_records": [{**record, "sepal_width": "3.5"}]},
        {"instances": ROWS, "comment": "keys beside the format key are ignored"},
    ):
        assert post(client, body).status_code == 200, (body, post(client, body).json)
    csv = ",".join(COLUMNS) + "\n" + ",".join(map(str, ROWS[0])) + "\n"
    r = post(client, csv, "text/csv")
    assert r.status_code == 200 and len(r.json["predictions"]) == 1, r.json


def test_mlflow_compatible_mode_refuses_unnamed_rows(served):
    """The switch: rows without column names are refused, as MLflow refuses them."""
    strict = create_app(served[1], mlflow_compatible=True).test_client()
    for body in ({"instances": ROWS}, {"dataframe_split": {"data": ROWS}}):
        r = post(strict, body)
        assert r.status_code == 400 and "name the columns" in r.json["error"], r.json
    named = {"dataframe_split": {"columns": COLUMNS, "data": ROWS}}
    assert post(strict, named).status_code == 200


def test_body_over_the_limit_is_413(client):
    big = {"instances": [ROWS[0]] * 2000}
    r = post(client, big)
    assert r.status_code == 413
    assert "limit" in r.json["error"]


def test_content_type_parameters_and_chunked_bodies_are_read(client):
    body = json.dumps({"instances": ROWS}).encode()
    r = post(client, body, "Application/JSON; charset=utf-8")
    assert r.status_code == 200, r.data
    # chunked: no Content-Length, the server (gunicorn) marks the input as terminated
    chunked = {"wsgi.input_terminated": True, "CONTENT_LENGTH": ""}
    r = client.post("/invocations", input_stream=io.BytesIO(body),
                    content_type="application/json", environ_overrides=chunked)  # fmt: skip
    assert r.status_code == 200, r.data
    r = client.post("/invocations", input_stream=io.BytesIO(b" " * (LIMIT + 1)),
                    content_type="application/json", environ_overrides=chunked)  # fmt: skip
    assert r.status_code == 413, r.data


def test_unknown_path_and_method_answer_json(client):
    assert client.get("/nope").status_code == 404
    r = client.get("/invocations")
    assert r.status_code == 405 and "error" in r.json


def test_health_ready_model_metrics(client, served):
    assert client.get("/health").json == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200 and ready.json["registry"]["registry_reachable"] is True
    model = client.get("/model").json
    assert model["version"] == served[1].current.version and model["columns"] == COLUMNS
    post(client, {"instances": ROWS})
    text = client.get("/metrics").data.decode()
    assert 'mlops_predictions_total{cls="0",model="api-model"}' in text
    assert "mlops_http_request_duration_seconds_bucket" in text


def test_no_model_yet_is_503(platform):
    holder = _holder(platform.mlflow.url, "api-model", alias="never-set")
    holder.check_once()
    assert holder.current is None
    client = create_app(holder).test_client()
    r = post(client, {"instances": ROWS})
    assert r.status_code == 503 and "no model loaded yet" in r.json["error"]
    assert client.get("/ready").status_code == 503
    assert client.get("/model").status_code == 503


def test_unreachable_registry_keeps_serving(served):
    cfg, _ = served
    holder = _holder(cfg.tracking_uri, cfg.model_name)
    holder.check_once()
    loaded = holder.current
    # the same holder, now pointed at a registry nobody listens on
    dead = registry.client(f"http://127.0.0.1:{free_port()}")
    holder.resolve = lambda: registry.version_for_alias(dead, cfg.model_name, "Production")
    holder.check_once()
    assert holder.current is loaded
    assert holder.registry_reachable is False
    client = create_app(holder).test_client()
    assert post(client, {"instances": ROWS}).status_code == 200
    ready = client.get("/ready")
    assert ready.status_code == 200
    assert ready.json["registry"]["registry_reachable"] is False
    assert "registry" in ready.json["registry"]["last_error"]


def _series(text: str, metric: str, model: str) -> list[str]:
    return [
        line
        for line in text.splitlines()
        if line.startswith(metric) and f'model="{model}"' in line and not line.startswith("#")
    ]


def test_prediction_metrics_stay_bounded_for_a_regressor(platform):
    """A regressor's every prediction is a new value: none may become a label. Its values
    go to one histogram per model; the classifier's counter keeps only its known classes."""
    import mlflow  # noqa: PLC0415
    import numpy as np  # noqa: PLC0415
    import pandas as pd  # noqa: PLC0415
    from mlflow.models import infer_signature  # noqa: PLC0415
    from sklearn.linear_model import LinearRegression  # noqa: PLC0415

    name = "api-regressor"
    x, _ = data._iris()
    frame = pd.DataFrame(x[:, :3], columns=COLUMNS[:3])
    target = x[:, 3]
    model = LinearRegression().fit(frame, target)
    mlflow.set_tracking_uri(platform.mlflow.url)
    mlflow.set_experiment(f"{name}-training")
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            signature=infer_signature(frame, model.predict(frame)),
            registered_model_name=name,
        )
    client = registry.client(platform.mlflow.url)
    client.set_registered_model_alias(name, "Production", str(info.registered_model_version))
    holder = _holder(platform.mlflow.url, name)
    holder.check_once()
    assert holder.current is not None, holder.last_error
    assert holder.current.classes == frozenset()
    app = create_app(holder).test_client()
    rng = np.random.default_rng(0)
    for _ in range(200):
        row = rng.uniform(1, 7, size=3).round(4).tolist()
        r = post(app, {"dataframe_split": {"columns": COLUMNS[:3], "data": [row]}})
        assert r.status_code == 200, r.json
    text = app.get("/metrics").data.decode()
    assert _series(text, "mlops_predictions_total", name) == []
    counted = _series(text, "mlops_prediction_values_count", name)
    assert len(counted) == 1 and float(counted[0].split()[-1]) >= 200, counted
    assert len(_series(text, "mlops_prediction_values_bucket", name)) < 20


def test_a_classifier_counts_only_its_classes(served, client):
    assert served[1].current.classes == frozenset({"0", "1", "2"})
    post(client, {"instances": ROWS * 10})
    text = client.get("/metrics").data.decode()
    labels = {
        line.split('cls="')[1].split('"')[0]
        for line in _series(text, "mlops_predictions_total", "api-model")
    }
    assert labels and labels <= {"0", "1", "2"}, labels
