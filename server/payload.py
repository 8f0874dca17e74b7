"""MLflow's scoring protocol for tabular input, parsed strictly into a float matrix:
the model server's fast path for models whose signature is all ``double``.

The JSON bodies of ``mlflow models serve``:
  {"dataframe_split": {"columns": [...], "data": [[...], ...]}}
  {"dataframe_records": [{"col": value, ...}, ...]}
  {"instances": [{"col": value}, ...]} or {"inputs": [{...}, ...]}
  {"inputs": {"col": [values]}} (columnar)
and, unless ``positional`` is off, rows without column names in the signature's
order (``{"instances": [[...], ...]}``, ``{"inputs": [[...]]}``, ``dataframe_split``
without "columns"), which MLflow refuses.

Keys beside the format key are ignored, as MLflow does. Whatever this parser
refuses (a PayloadError naming what is wrong) the server hands to MLflow's own
parser, which decides: a PayloadError is a hint for the answer, never an answer of
its own. Bodies with columns the signature does not name it leaves to MLflow's
parser without a hint (Defer): MLflow drops those columns, but can still refuse a
body for what they hold.
"""

from __future__ import annotations

from itertools import chain
from typing import Any

import numpy as np

FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")
_NUMBER = frozenset((int, float))


class PayloadError(ValueError):
    """A request body that cannot be scored; ``status`` is the HTTP code to answer."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


class Defer(PayloadError):
    """A body this parser leaves to MLflow's without a verdict of its own (no hint)."""


POSITIONAL_HINT = 'name the columns (dataframe_split with "columns", or records)'


def _check_columns(given: list[str], expected: tuple[str, ...]) -> None:
    """Every expected column once, and no other (MLflow drops others, but its parser
    can still refuse a body for what they hold: it decides those bodies)."""
    if len(set(given)) != len(given):
        duplicated = sorted({c for c in given if given.count(c) > 1})
        raise PayloadError(f"duplicate column names {duplicated} in {given}")
    missing = [c for c in expected if c not in given]
    if missing:
        raise PayloadError(f"missing columns {missing}; the model expects {list(expected)}")
    if len(given) != len(expected):
        raise Defer(f"columns beyond the signature's: {[c for c in given if c not in expected]}")


def _row_shape(row: Any, width: int, index: int) -> list[Any]:
    if not isinstance(row, list):
        kind = type(row).__name__
        raise PayloadError(f"row {index} must be a list of {width} values, got {kind}")
    if len(row) != width:
        raise PayloadError(f"row {index} has {len(row)} values; the model expects {width}")
    return row


def _numbers(row: list[Any], index: int) -> None:
    for value in row:
        # bool is an int subclass: refuse it, like strings, as non-numeric
        if type(value) not in _NUMBER:
            raise PayloadError(
                f"row {index} has a non-numeric value {value!r}; every feature must be a number"
            )


def _from_records(records: Any, columns: tuple[str, ...]) -> list[list[Any]]:
    if not isinstance(records, list):
        raise PayloadError("records must be a list of objects")
    rows = []
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            raise PayloadError(f"record {i} must be an object of column: value")
        _check_columns(list(record), columns)
        rows.append([record[c] for c in columns])
    return rows


def _from_split(split: Any, columns: tuple[str, ...], positional: bool) -> list[list[Any]]:
    if not isinstance(split, dict) or "data" not in split:
        raise PayloadError('dataframe_split must be an object with "data" (and "columns")')
    data = split["data"]
    if not isinstance(data, list):
        raise PayloadError('dataframe_split "data" must be a list of rows')
    given = split.get("columns")
    if given is None:
        if not positional:
            raise PayloadError(f'dataframe_split without "columns": {POSITIONAL_HINT}')
        return data
    if not isinstance(given, list) or not all(isinstance(c, str) for c in given):
        raise PayloadError('dataframe_split "columns" must be a list of column names')
    if given == list(columns):
        return data
    _check_columns(given, columns)
    order = [given.index(c) for c in columns]
    out = []
    for i, row in enumerate(data):
        _row_shape(row, len(given), i)
        out.append([row[j] for j in order])
    return out


def _from_inputs(value: Any, columns: tuple[str, ...], positional: bool) -> list[list[Any]]:
    if isinstance(value, dict):  # columnar: {"col": [values, ...]}
        _check_columns(list(value), columns)
        lengths = {len(v) if isinstance(v, list) else -1 for v in value.values()}
        if len(lengths) != 1 or -1 in lengths:
            raise PayloadError("columnar inputs must map every column to a list of equal length")
        return [list(r) for r in zip(*(value[c] for c in columns), strict=True)]
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return _from_records(value, columns)
    if isinstance(value, list):
        if not positional:
            raise PayloadError(f"rows without column names: {POSITIONAL_HINT}")
        return value
    raise PayloadError(
        "instances/inputs must be a list of rows, a list of objects or an object of columns"
    )


def rows(body: Any, columns: tuple[str, ...], positional: bool = True) -> list[list[Any]]:
    """The request rows in the model's column order, each checked for its width."""
    if not isinstance(body, dict):
        raise PayloadError(f"the JSON body must be an object with one of the keys {list(FORMATS)}")
    keys = [k for k in FORMATS if k in body]
    if len(keys) != 1:
        raise PayloadError(
            f"the JSON body must have exactly one of the keys {list(FORMATS)}, got {sorted(body)}"
        )
    key = keys[0]
    if not isinstance(body.get("params", {}), dict | None):
        raise PayloadError('"params" must be an object of parameter names and values')
    value = body[key]
    if key == "dataframe_split":
        table = _from_split(value, columns, positional)
    elif key == "dataframe_records":
        table = _from_records(value, columns)
    else:
        table = _from_inputs(value, columns, positional)
    if not table:
        raise PayloadError("no rows to score: send at least one row")
    width = len(columns)
    # one quick pass (in C) over well-formed input; the row-by-row check names what is wrong
    if set(map(type, table)) != {list} or set(map(len, table)) != {width}:
        for i, row in enumerate(table):
            _row_shape(row, width, i)
    return table


def parse(body: Any, columns: tuple[str, ...], positional: bool = True) -> np.ndarray:
    """The request rows as an (n, len(columns)) float64 matrix in the model's column order."""
    table = rows(body, columns, positional)
    if not set(map(type, chain.from_iterable(table))) <= _NUMBER:
        for i, row in enumerate(table):
            _numbers(row, i)
    try:
        matrix = np.asarray(table, dtype=np.float64)
    except OverflowError:  # an integer beyond float64's range (JSON allows any size)
        raise PayloadError("values must be finite numbers within float64's range") from None
    if not np.isfinite(matrix).all():
        raise PayloadError("values must be finite numbers (no NaN or infinity)")
    return matrix


def with_names(body: Any, columns: tuple[str, ...]) -> Any:
    """``body`` with its positional rows named, for MLflow's parser: rows without column
    names become dataframe_split with the signature's columns. Other bodies unchanged."""
    if not isinstance(body, dict):
        return body
    keys = [k for k in FORMATS if k in body]
    if len(keys) != 1:
        return body
    key = keys[0]
    value = body[key]
    if key == "dataframe_split" and isinstance(value, dict) and value.get("columns") is None:
        return {**body, key: {**value, "columns": list(columns)}}
    positional = isinstance(value, list) and value and all(isinstance(r, list) for r in value)
    if key in ("instances", "inputs") and positional:
        rest = {k: v for k, v in body.items() if k != key}
        return {**rest, "dataframe_split": {"columns": list(columns), "data": value}}
    return body
