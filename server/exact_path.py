"""The exact path: a request scored by MLflow's own scoring function.

``mlflow.pyfunc.scoring_server.invocations`` is what ``mlflow models serve`` runs
for POST /invocations: its content types (JSON, CSV, Parquet), its parser, the
signature's type conversion per column, ``params``, the version's
``pyfunc_predict_fn`` and its shaping of DataFrame, dict and numpy outputs. The model
server calls it for every request the fast path (``server.payload``) does not take,
so those answers are MLflow's answers by construction.

One thing MLflow does not tell apart is told apart here: MLflow answers 400 both
when its parser refuses the input and when the model itself raises. ``Observed``
notes the model's own exception, so the server can say which it was.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mlflow.exceptions import MlflowException
from mlflow.pyfunc import scoring_server


class Observed:
    """The pyfunc model as ``invocations`` sees it; notes an exception of the model itself
    (schema enforcement raises MlflowException, which is the input's fault)."""

    def __init__(self, model: Any) -> None:
        self._model = model
        self.metadata = model.metadata
        self.failure: Exception | None = None

    def predict(self, data: Any, params: dict | None = None) -> Any:
        try:
            return self._model.predict(data, params=params)
        except MlflowException:
            raise
        except Exception as exc:
            self.failure = exc
            raise


@dataclass(frozen=True)
class Answer:
    status: int
    # the JSON MLflow answered ({"predictions": ...}) when status is 200
    response: str = ""
    error_code: str = ""
    message: str = ""
    # the model's own exception, when it raised on input the parser and signature took
    failure: Exception | None = None

    def predictions(self) -> list:
        """MLflow's predictions, read back (json: MLflow writes NaN as NaN)."""
        value = json.loads(self.response)["predictions"]
        return value if isinstance(value, list) else [value]


def invoke(model: Any, data: bytes | str | dict, content_type: str) -> Answer:
    """``data`` scored as ``mlflow models serve`` scores it; a dict is a parsed JSON body."""
    observed = Observed(model)
    try:
        answer = scoring_server.invocations(
            data, content_type, observed, model.metadata.get_input_schema()
        )
    except MlflowException as exc:
        return Answer(exc.get_http_status_code(), "", exc.error_code, exc.message, observed.failure)
    if answer.status != 200:  # MLflow's 415s: a plain-text reason
        return Answer(answer.status, "", "BAD_REQUEST", answer.response)
    return Answer(200, answer.response)
