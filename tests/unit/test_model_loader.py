"""The model server's numeric fast path for scikit-learn estimators fitted on a
DataFrame: a float matrix in the fitted column order where that predicts exactly
what the DataFrame does, the DataFrame itself where the estimator needs it."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from server.model_loader import _numeric_predictor

SIGNATURE = ("sepal_length", "sepal_width", "petal_length", "petal_width")
FITTED = ("petal_width", "petal_length", "sepal_width", "sepal_length")  # another order


class Recording(LogisticRegression):
    """Notes the type of every input it is asked to predict."""

    seen: list[type]

    def predict(self, X):
        self.seen.append(type(X))
        return super().predict(X)


def iris() -> pd.DataFrame:
    features, _ = load_iris(return_X_y=True)
    return pd.DataFrame(features, columns=SIGNATURE)


def body(frame: pd.DataFrame) -> dict:
    return {"dataframe_split": {"columns": list(SIGNATURE), "data": frame.values.tolist()}}


def test_an_estimator_fitted_on_a_dataframe_gets_a_matrix_in_its_own_column_order():
    frame = iris()
    target = load_iris().target
    estimator = Recording(max_iter=500).fit(frame[list(FITTED)], target)
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
