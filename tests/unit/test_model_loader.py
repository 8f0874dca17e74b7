"""The model server's numeric fast path for scikit-learn estimators fitted on a
DataFrame: a float matrix in the fitted column order where that predicts exactly
what the DataFrame does, the DataFrame itself where the estimator needs it."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

from server.model_loader import _numeric_predictor

SIGNATURE = ("sepal_length", "sepal_width", "petal_length", "petal_width")
FITTED = ("petal_width", "petal_length", "sepal_width", "sepal_length")  # another order


class Recording(DecisionTreeClassifier):
    """Notes the type of every input it is asked to predict (a tree: no direct linear path)."""

    seen: list[type]

    def predict(self, X):
        self.seen.append(type(X))
        return super().predict(X)


class CountingPipeline(Pipeline):
    """Counts the calls of scikit-learn's own predict."""

    calls = 0

    def predict(self, X, **params):
        self.calls += 1
        return super().predict(X, **params)


def iris() -> pd.DataFrame:
    features, _ = load_iris(return_X_y=True)
    return pd.DataFrame(features, columns=SIGNATURE)


def body(frame: pd.DataFrame) -> dict:
    return {"dataframe_split": {"columns": list(SIGNATURE), "data": frame.values.tolist()}}


def test_an_estimator_fitted_on_a_dataframe_gets_a_matrix_in_its_own_column_order():
    frame = iris()
    target = load_iris().target
    estimator = Recording(random_state=0).fit(frame[list(FITTED)], target)
    estimator.seen = []
    predict = _numeric_predictor(estimator, SIGNATURE)
    estimator.seen.clear()
    got = predict(body(frame))
    assert estimator.seen == [np.ndarray]
    assert got == estimator.predict(frame[list(FITTED)]).tolist()


def test_a_pipeline_that_picks_columns_by_name_keeps_the_dataframe():
    frame = iris()
    target = load_iris().target
    picks = ColumnTransformer([("petals", StandardScaler(), ["petal_length", "petal_width"])])
    pipeline = make_pipeline(picks, LogisticRegression(max_iter=500)).fit(frame, target)
    predict = _numeric_predictor(pipeline, SIGNATURE)
    assert predict(body(frame)) == pipeline.predict(frame).tolist()


def test_a_linear_pipeline_fitted_on_a_dataframe_is_served_by_the_direct_path():
    frame = iris()
    target = load_iris().target
    pipeline = CountingPipeline([("scale", StandardScaler()), ("lr", LogisticRegression())])
    pipeline.fit(frame[list(FITTED)], target)
    expected = pipeline.predict(frame[list(FITTED)]).tolist()
    predict = _numeric_predictor(pipeline, SIGNATURE)
    pipeline.calls = 0  # the probes at load time may call it; serving must not
    assert predict(body(frame)) == expected
    assert pipeline.calls == 0
