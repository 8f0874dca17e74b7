"""The direct numpy predict for linear models: exactly scikit-learn's answers, and
None for anything it cannot reproduce."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge, SGDClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from server.linear_path import compile_linear

FEATURES, TARGET = load_iris(return_X_y=True)
NAMES = np.array(["setosa", "versicolor", "virginica"])


def fresh_rows(n: int = 2000) -> np.ndarray:
    """Rows the models never saw, around the iris data and far from it."""
    rng = np.random.default_rng(7)
    near = FEATURES[rng.integers(0, len(FEATURES), n)] + rng.normal(0, 0.5, (n, 4))
    return np.vstack([near, rng.uniform(-50, 50, (n // 4, 4))])


@pytest.mark.parametrize(
    "model",
    [
        make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
        make_pipeline(StandardScaler(with_mean=False), LogisticRegression(max_iter=1000)),
        make_pipeline("passthrough", StandardScaler(), SGDClassifier(random_state=0)),
        LogisticRegression(max_iter=1000),
    ],
    ids=["scaled-logistic", "scaled-without-mean", "passthrough-sgd", "bare-logistic"],
)
def test_multiclass_linear_models_predict_exactly_as_scikit_learn(model):
    model.fit(FEATURES, NAMES[TARGET])
    predict = compile_linear(model, 4)
    assert predict is not None
    rows = fresh_rows()
    got = predict(rows)
    assert got.dtype == model.predict(rows).dtype  # the class labels themselves, here strings
    np.testing.assert_array_equal(got, model.predict(rows))


def test_a_two_class_model_predicts_by_the_sign_of_its_score():
    two = TARGET < 2
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(FEATURES[two], TARGET[two])
    predict = compile_linear(model, 4)
    assert predict is not None
    np.testing.assert_array_equal(predict(fresh_rows()), model.predict(fresh_rows()))


@pytest.mark.parametrize("regressor", [LinearRegression(), Ridge(alpha=0.5)])
def test_linear_regressors_give_the_same_floats(regressor):
    features, target = load_diabetes(return_X_y=True)
    model = make_pipeline(StandardScaler(), regressor).fit(features, target)
    predict = compile_linear(model, features.shape[1])
    assert predict is not None
    rows = np.random.default_rng(3).normal(0, 0.1, (500, features.shape[1]))
    np.testing.assert_array_equal(predict(rows), model.predict(rows))


@pytest.mark.parametrize(
    "model",
    [
        RandomForestClassifier(n_estimators=5, random_state=0),
        make_pipeline(MinMaxScaler(), LogisticRegression(max_iter=1000)),
    ],
    ids=["forest", "unknown-scaler"],
)
def test_what_it_cannot_reproduce_keeps_scikit_learns_path(model):
    model.fit(FEATURES, TARGET)
    assert compile_linear(model, 4) is None


class Shifted(LogisticRegression):
    """A linear model whose predict is not the argmax of its scores."""

    def predict(self, X):
        return (super().predict(X) + 1) % 3


def test_a_model_whose_predict_differs_from_its_scores_is_left_alone():
    model = make_pipeline(StandardScaler(), Shifted(max_iter=1000)).fit(FEATURES, TARGET)
    assert compile_linear(model, 4) is None


def test_the_callers_matrix_is_not_modified():
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(FEATURES, TARGET)
    predict = compile_linear(model, 4)
    rows = fresh_rows(10)
    before = rows.copy()
    predict(rows)
    np.testing.assert_array_equal(rows, before)
