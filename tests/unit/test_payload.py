import numpy as np
import pytest

from server.payload import Defer, PayloadError, parse, with_names

COLS = ("a", "b")


def test_split_reorders_columns():
    m = parse({"dataframe_split": {"columns": ["b", "a"], "data": [[2, 1]]}}, COLS)
    assert m.tolist() == [[1.0, 2.0]]
    assert m.dtype == np.float64


def test_columnar_inputs():
    assert parse({"inputs": {"a": [1, 3], "b": [2, 4]}}, COLS).tolist() == [[1, 2], [3, 4]]


def test_columnar_inputs_of_unequal_length():
    with pytest.raises(PayloadError, match="equal length"):
        parse({"inputs": {"a": [1, 3], "b": [2]}}, COLS)


@pytest.mark.parametrize(
    "columns, data",
    [(["a", "a"], [[1, 2]]), (["a", "b", "a"], [[1, 2, 3]]), (["b", "a", "b"], [[1, 2, 3]])],
)
def test_duplicate_columns_refused(columns, data):
    """Every column the model expects may be there: a duplicate is still ambiguous."""
    with pytest.raises(PayloadError, match=r"duplicate column names \[") as err:
        parse({"dataframe_split": {"columns": columns, "data": data}}, COLS)
    assert err.value.status == 422


@pytest.mark.parametrize("value", ["1.5", True, None, [1], {"x": 1}])
def test_non_numbers_refused(value):
    with pytest.raises(PayloadError) as err:
        parse({"instances": [[1, value]]}, COLS)
    assert err.value.status == 422


def test_infinity_refused():
    with pytest.raises(PayloadError, match="finite"):
        parse({"instances": [[1, float("inf")]]}, COLS)


def test_integers_beyond_float64_refused():
    """Found by the fuzz test: JSON integers have no size limit; float64 has."""
    with pytest.raises(PayloadError, match="float64") as err:
        parse({"instances": [[1, 10**400]]}, COLS)
    assert err.value.status == 422


@pytest.mark.parametrize("columns", [False, "ab", [1, 2], {"a": 1}])
def test_split_columns_must_be_a_list_of_names(columns):
    """Found by the fuzz test: columns=false made the server answer 500."""
    with pytest.raises(PayloadError, match="list of column names"):
        parse({"dataframe_split": {"columns": columns, "data": [[1, 2]]}}, COLS)


def test_keys_beside_the_format_key_ignored_params_checked():
    """As MLflow: keys other than the format key and params are ignored."""
    rows = [[1, 2]]
    assert parse({"instances": rows, "x": None}, COLS).shape == (1, 2)
    with pytest.raises(PayloadError, match="params"):
        parse({"instances": rows, "params": [1]}, COLS)
    assert parse({"instances": rows, "params": {"k": 1}}, COLS).shape == (1, 2)
    assert parse({"instances": rows, "params": None}, COLS).shape == (1, 2)


@pytest.mark.parametrize(
    "body",
    [
        {"dataframe_split": {"columns": ["b", "x", "a"], "data": [[2, "s", 1]]}},
        {"dataframe_records": [{"a": 1, "b": 2, "x": "s"}]},
        {"instances": [{"a": 1, "b": 2, "x": [1.0]}]},
    ],
)
def test_extra_columns_are_left_to_mlflow_without_a_verdict(body):
    """Found by the parity test: MLflow drops extra columns, yet its parser refuses
    `instances` records whose extra column mixes lists and numbers."""
    with pytest.raises(Defer, match=r"beyond the signature's: \['x'\]"):
        parse(body, COLS)


@pytest.mark.parametrize(
    "body",
    [{"instances": [[1, 2]]}, {"inputs": [[1, 2]]}, {"dataframe_split": {"data": [[1, 2]]}}],
)
def test_unnamed_rows_only_when_positional(body):
    assert parse(body, COLS).tolist() == [[1.0, 2.0]]
    with pytest.raises(PayloadError, match="name the columns"):
        parse(body, COLS, positional=False)
    named = with_names(body, COLS)
    assert named["dataframe_split"]["columns"] == list(COLS)
    assert parse(named, COLS, positional=False).tolist() == [[1.0, 2.0]]
