"""The model versions the differential test serves with both servers: one of each kind
that takes another path through either server.

A pyfunc model with params lives here, in an importable module, so that MLflow's
cloudpickle stores it by reference and ``mlflow models serve`` (run with this
repository on PYTHONPATH) loads the same class as the in-process server."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import mlflow
import numpy as np
import pandas as pd
from mlflow.models import infer_signature
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier

IRIS = ("sepal_length", "sepal_width", "petal_length", "petal_width")
COLOURS = ("red", "green", "blue")


@dataclass(frozen=True)
class Spec:
    """A registered version and the types of its signature's columns, in order."""

    name: str
    columns: tuple[tuple[str, str], ...]  # (column, MLflow type)
    version: int = 0


class Shaped(mlflow.pyfunc.PythonModel):
    """Answers in the shape its ``shape`` param asks for: a DataFrame, a dict or a list
    of numpy scalars, each scaled by the ``scale`` param."""

    def predict(self, context, model_input, params=None):
        params = params or {}
        scale = float(params.get("scale", 1.0))
        total = model_input.sum(axis=1, numeric_only=True).to_numpy(dtype=np.float64) * scale
        shape = params.get("shape", "frame")
        if shape == "dict":
            return {"total": total, "rows": np.int64(len(total))}
        if shape == "scalars":
            return [np.float64(v) for v in total]
        return pd.DataFrame({"total": total, "even": (np.arange(len(total)) % 2 == 0)})


def _iris(rows: int = 150) -> tuple[pd.DataFrame, np.ndarray]:
    from sklearn.datasets import load_iris  # noqa: PLC0415

    x, y = load_iris(return_X_y=True)
    return pd.DataFrame(x[:rows], columns=IRIS), y[:rows]


def _log(name: str, model: object, x: pd.DataFrame, y: object, **kwargs: object) -> int:
    from ml.training import _trusted_types  # noqa: PLC0415  (skops: the tree's own types)

    with mlflow.start_run():
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            signature=infer_signature(x, y),
            input_example=x.head(3),
            registered_model_name=name,
            skops_trusted_types=_trusted_types(model),
            **kwargs,
        )
    return int(info.registered_model_version)


def register_all(
    tracking_uri: str, prefix: str, registered: Callable[[Spec], None] = lambda spec: None
) -> list[Spec]:
    """Log and register every kind; the registered versions, with their columns.
    ``registered`` is called with each as soon as it is registered."""
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment(f"{prefix}-models")
    x, y = _iris()
    specs: list[Spec] = []

    def add(spec: Spec) -> None:
        specs.append(spec)
        registered(spec)

    linear = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(x, y)
    name = f"{prefix}-linear"
    add(Spec(name, tuple((c, "double") for c in IRIS), _log(name, linear, x, y)))

    proba = LogisticRegression(max_iter=500).fit(x, y)
    name = f"{prefix}-proba"
    version = _log(name, proba, x, proba.predict_proba(x), pyfunc_predict_fn="predict_proba")
    add(Spec(name, tuple((c, "double") for c in IRIS), version))

    target = x.pop("petal_width")
    regressor = LinearRegression().fit(x, target)
    name = f"{prefix}-regressor"
    add(Spec(name, tuple((c, "double") for c in IRIS[:3]), _log(name, regressor, x, target)))

    counts = (x * 10).round().astype(np.int64)  # integer-only columns: MLflow's long
    tree = DecisionTreeClassifier(max_depth=4, random_state=0).fit(counts, y)
    name = f"{prefix}-integers"
    add(Spec(name, tuple((c, "long") for c in IRIS[:3]), _log(name, tree, counts, y)))

    rng = np.random.default_rng(0)
    coloured = x.assign(colour=rng.choice(COLOURS, len(x)))[["colour", *IRIS[:2]]]
    encode = ColumnTransformer(
        [("colour", OneHotEncoder(handle_unknown="ignore"), ["colour"])], remainder="passthrough"
    )
    strings = make_pipeline(encode, LogisticRegression(max_iter=500)).fit(coloured, y)
    name = f"{prefix}-strings"
    columns = (("colour", "string"), (IRIS[0], "double"), (IRIS[1], "double"))
    add(Spec(name, columns, _log(name, strings, coloured, y)))

    name = f"{prefix}-shaped"
    example = x[list(IRIS[:2])].head(3)
    params = {"shape": "frame", "scale": 1.0}
    with mlflow.start_run():
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=Shaped(),
            signature=infer_signature(example, Shaped().predict(None, example), params=params),
            input_example=example,
            registered_model_name=name,
        )
    add(Spec(name, tuple((c, "double") for c in IRIS[:2]), int(info.registered_model_version)))
    return specs
