"""Differential test: our model server against the real ``mlflow models serve``.

The same registered versions (tests/parity_models.py: a linear classifier and a
regressor on the fast linear path, a ``predict_proba`` model, an integer-only tree, a
string-column pipeline and a pyfunc model with params whose output is a DataFrame, a
dict or numpy scalars) are served by ``mlflow models serve`` and by ours. Hypothesis
draws bodies, valid and invalid (JSON in every format, and CSV; missing, extra and
reordered columns; nulls, booleans, strings, NaN, huge integers; params; extra keys),
and each goes to both:

- with ``mlflow_compatible`` on, the status class is the same for every body, and
  where MLflow answers 200 the predictions are identical;
- by default, the one documented difference: rows without column names, which
  MLflow refuses, are scored as the same rows named in the signature's order (so
  they must equal MLflow's answer for the named body);
- ours never answers 5xx, and every error carries "error", "error_code", "message".
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import subprocess
import tempfile
from pathlib import Path

import pandas as pd
import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.alias_follower import ModelHolder
from server.app import create_app
from server.model_loader import load
from tests import parity_models
from tests.harness import VENV_BIN, free_port, stop_process, wait_for

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = int(os.environ.get("MLOPS_PARITY_EXAMPLES", "100"))  # per model and mode
JSON = "application/json"


class MlflowServing:
    """``mlflow models serve`` of each version, started as soon as it is registered (the
    servers start while the next versions are logged), all waited for at the end."""

    def __init__(self, tracking_uri: str) -> None:
        self.env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri, "PYTHONPATH": str(ROOT),
                    "PATH": f"{VENV_BIN}:{os.environ['PATH']}"}  # fmt: skip
        self.procs: list[tuple[subprocess.Popen, Path, str]] = []
        self.bases: dict[str, str] = {}

    def start(self, spec: parity_models.Spec) -> None:
        port = free_port()
        log = Path(tempfile.mkstemp(prefix=f"mlflow-serve-{spec.name}-", suffix=".log")[1])
        proc = subprocess.Popen(
            [str(VENV_BIN / "mlflow"), "models", "serve", "-m",
             f"models:/{spec.name}/{spec.version}", "--env-manager", "local",
             "-h", "127.0.0.1", "-p", str(port), "--workers", "1"],
            env=self.env, cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        self.bases[spec.name] = f"http://127.0.0.1:{port}"
        self.procs.append((proc, log, self.bases[spec.name]))

    def wait(self) -> None:
        for proc, log, base in self.procs:

            def up(proc: subprocess.Popen = proc, base: str = base) -> bool:
                if proc.poll() is not None:
                    raise RuntimeError(f"mlflow models serve exited: {base}")
                with contextlib.suppress(requests.RequestException):
                    return requests.get(f"{base}/ping", timeout=2).ok
                return False

            wait_for(up, 300, "mlflow models serve", log)

    def stop(self) -> None:
        for proc, _, _ in self.procs:
            stop_process(proc)


@pytest.fixture(scope="module")
def servers(platform):
    tracking_uri = platform.mlflow.url
    theirs = MlflowServing(tracking_uri)
    try:
        specs = parity_models.register_all(tracking_uri, "parity", registered=theirs.start)
        ours = {}
        for spec in specs:
            model = load(tracking_uri, spec.name, spec.version, "Production")
            ours[spec.name] = ModelHolder(spec.name, "Production", resolve=lambda v=spec.version: v,
                                          load=lambda v, m=model: m, current=model)  # fmt: skip
        theirs.wait()
        yield {spec.name: (spec, theirs.bases[spec.name], ours[spec.name]) for spec in specs}
    finally:
        theirs.stop()


# --- what hypothesis draws -------------------------------------------------------------

VALID = {
    "double": st.one_of(st.floats(-50, 50, allow_nan=False), st.integers(-50, 50)),
    "long": st.integers(-100, 100),
    "string": st.sampled_from([*parity_models.COLOURS, "violet"]),
}
ODD = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from(["1.5", "7", "wide", "", "nan"]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(2**70), 2**70),
    st.floats(-50, 50).map(lambda f: round(f, 1)),
    st.just([1.0]),
)


def value(kind: str) -> st.SearchStrategy:
    return st.integers(0, 9).flatmap(lambda i: VALID[kind] if i < 8 else ODD)


FORMATS = ("split", "split-unnamed", "records", "instances-records", "instances-rows",
           "inputs-rows", "inputs-columns", "csv")  # fmt: skip
POSITIONAL = {"split-unnamed", "instances-rows", "inputs-rows"}


@st.composite
def request_body(draw: st.DrawFn, spec: parity_models.Spec) -> tuple[str, str, bool]:
    """(body, content type, whether its rows are unnamed) for one version."""
    columns = list(spec.columns)
    if draw(st.integers(0, 5)) == 0 and len(columns) > 1:  # one column missing
        columns.pop(draw(st.integers(0, len(columns) - 1)))
    if draw(st.booleans()):  # a column the signature does not have: MLflow drops it
        columns.append(("extra", draw(st.sampled_from(["double", "string"]))))
    if draw(st.booleans()):
        columns = draw(st.permutations(columns))
    names = [c for c, _ in columns]
    n = draw(st.integers(0, 4) if draw(st.integers(0, 9)) == 0 else st.integers(1, 4))
    rows = [[draw(value(kind)) for _, kind in columns] for _ in range(n)]
    fmt = draw(st.sampled_from(FORMATS))
    if fmt == "csv":
        return pd.DataFrame(rows, columns=names).to_csv(index=False), "text/csv", False
    records = [dict(zip(names, r, strict=True)) for r in rows]
    body = {
        "split": {"dataframe_split": {"columns": names, "data": rows}},
        "split-unnamed": {"dataframe_split": {"data": rows}},
        "records": {"dataframe_records": records},
        "instances-records": {"instances": records},
        "instances-rows": {"instances": rows},
        "inputs-rows": {"inputs": rows},
        "inputs-columns": {"inputs": {c: [r[i] for r in rows] for i, c in enumerate(names)}},
    }[fmt]
    if draw(st.integers(0, 3)) == 0:
        body["params"] = draw(st.one_of(
            st.fixed_dictionaries({"shape": st.sampled_from(["frame", "dict", "scalars"])},
                                  optional={"scale": st.floats(0, 3) | st.text(max_size=2)}),
            st.just({"unknown": 1}), st.just([1]),
        ))  # fmt: skip
    if draw(st.integers(0, 9)) == 0:
        body["comment"] = "ignored by MLflow"
    return json.dumps(body), JSON, fmt in POSITIONAL


def named(body: str, spec: parity_models.Spec) -> str:
    """The unnamed rows of ``body`` named in the signature's order."""
    parsed = json.loads(body)
    key = next(k for k in ("dataframe_split", "instances", "inputs") if k in parsed)
    rows = parsed.pop(key)["data"] if key == "dataframe_split" else parsed.pop(key)
    columns = [c for c, _ in spec.columns]
    return json.dumps({**parsed, "dataframe_split": {"columns": columns, "data": rows}})


# --- the comparison --------------------------------------------------------------------


def same(a: object, b: object) -> bool:
    """Equal JSON values, NaN equal to NaN (MLflow writes NaN as NaN)."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def theirs(base: str, body: str, content_type: str) -> tuple[int, object]:
    r = requests.post(f"{base}/invocations", data=body.encode(),
                      headers={"Content-Type": content_type}, timeout=30)  # fmt: skip
    return r.status_code, json.loads(r.text) if r.status_code == 200 else r.text


def compare(servers: dict, name: str, compatible: bool, drawn: tuple[str, str, bool]) -> None:
    spec, base, holder = servers[name]
    body, content_type, unnamed = drawn
    client = create_app(holder, mlflow_compatible=compatible).test_client()
    mine = client.post("/invocations", data=body.encode(), content_type=content_type)
    answer = json.loads(mine.data)
    status, reference = theirs(base, body, content_type)
    context = f"{name} compatible={compatible} body={body[:400]!r}: ours {mine.status_code}"
    assert mine.status_code < 500, f"{context} {answer}"
    if mine.status_code >= 400:
        assert {"error", "error_code", "message"} <= answer.keys(), context
        assert answer["error"], context
    if not compatible and unnamed and mine.status_code == 200 and status >= 400:
        status, reference = theirs(base, named(body, spec), content_type)  # the difference
    assert (mine.status_code // 100) == (status // 100), f"{context}, MLflow {status} {reference}"
    if status == 200:
        assert same(answer["predictions"], reference["predictions"]), (context, reference)
        assert answer["model"]["version"] == spec.version


KINDS = ("linear", "proba", "regressor", "integers", "strings", "shaped")


@pytest.mark.parametrize("compatible", [True, False], ids=["mlflow-compatible", "default"])
@pytest.mark.parametrize("kind", KINDS)
def test_same_answers_as_mlflow_models_serve(servers, kind, compatible):
    name = f"parity-{kind}"
    spec = servers[name][0]

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
    @given(drawn=request_body(spec))
    def check(drawn: tuple[str, str, bool]) -> None:
        compare(servers, name, compatible, drawn)

    check()


def test_the_fast_path_serves_the_double_sklearn_versions(servers):
    """The versions the comparison proves the fast path on do take it."""
    fast = {n for n, (_, _, holder) in servers.items() if holder.current.fast is not None}
    assert fast == {"parity-linear", "parity-proba", "parity-regressor"}


@pytest.mark.parametrize("path", ["/ping", "/version"])
def test_ping_and_version_as_mlflow_serves_them(servers, path):
    _, base, holder = servers["parity-linear"]
    mine = create_app(holder).test_client().get(path)
    reference = requests.get(base + path, timeout=10)
    assert (mine.status_code, mine.data) == (reference.status_code, reference.content)
    assert mine.content_type == reference.headers["content-type"]
