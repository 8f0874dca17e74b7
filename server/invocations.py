"""POST /invocations as plain WSGI, in front of the Flask app (``app.wsgi_app``).

Flask's request and response objects, routing and hooks cost 0.21 of the 0.27 ms that
a one-row request took in-process; this path does the same work in 0.06 ms. Every
other request, and every other method on /invocations, goes to Flask.

Two paths score a request. The fast path (``server.payload`` into the estimator)
takes the JSON bodies it can score exactly as MLflow does, for the versions it can
serve (``server.model_loader``). Everything else, and every body the fast path
refuses, goes to MLflow's own scoring function (``server.exact_path``): CSV and
Parquet, type conversion, params, outputs of any shape, and MLflow's own verdict on
a body. So the answer is MLflow's: the same status class, the same predictions.

Where the server deliberately differs from ``mlflow models serve`` (``mlflow_compatible``
off, the default): rows without column names are taken in the signature's order;
an error answers the more precise status of our own check (413, 415, 422) with a
message that says what to fix; a model that raises on an input MLflow's parser took
answers 422 if the version scored its own input example at load (it handles other
inputs: this one is outside them) and 500 if it has none to prove it is not broken.
Every error is {"error": ..., "error_code": ..., "message": ...}: ours, then MLflow's.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter as Tally
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

import orjson

from server import exact_path, metrics
from server.alias_follower import ModelHolder
from server.payload import Defer, PayloadError, rows, with_names

PATH = "/invocations"
# How much of an unread body an error answer reads and drops first, as a multiple of
# the limit: above the proxy's own limit (2 MiB against 1 MiB), bounded for direct clients.
DRAIN_FACTOR = 8

log = logging.getLogger("mlops.model_server")
WSGIApp = Callable[[dict, Callable], Iterable[bytes]]


def loads(raw: bytes) -> Any:
    """orjson's parser (a 100-row body in 40 instead of 110 us); the standard library's
    for what orjson refuses and ``mlflow models serve`` takes (NaN, Infinity, integers
    beyond 64 bits), so those still get the 422 that names them, and malformed JSON
    still gets the standard library's message."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        try:
            return json.loads(raw)
        except RecursionError:
            raise ValueError("nested too deeply") from None


def drain_body(environ: dict, limit: int) -> None:
    """Read and drop what is left of the request body, at most ``limit`` bytes.

    A worker that answers early (413, 415) and closes the socket with the body unread
    makes the kernel reset the connection; a client still sending, such as nginx
    forwarding a buffered body, then gets the reset instead of the answer: a 502."""
    if not environ.get("CONTENT_LENGTH") and not environ.get("wsgi.input_terminated"):
        return  # no length and no chunking: nothing to read, and a read could block
    stream = environ.get("wsgi.input")
    while stream is not None and limit > 0:
        chunk = stream.read(min(65536, limit))
        if not chunk:
            return
        limit -= len(chunk)


def read_body(environ: dict, limit: int) -> bytes | None:
    """The whole body, or None when it is over ``limit`` bytes (nothing read then)."""
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH")
    if length:
        size = int(length)  # gunicorn and werkzeug have checked it is a number
        return None if size > limit else stream.read(size)
    if environ.get("wsgi.input_terminated"):  # chunked: read to its end, up to the limit
        raw = stream.read(limit + 1)
        return None if len(raw) > limit else raw
    return b""


class Invocations:
    """The WSGI middleware: scores POST /invocations with the holder's current model."""

    def __init__(
        self,
        fallback: WSGIApp,
        holder: ModelHolder,
        max_body_bytes: int,
        mlflow_compatible: bool = False,
    ) -> None:
        self.fallback = fallback
        self.holder = holder
        self.max_body_bytes = max_body_bytes
        self.mlflow_compatible = mlflow_compatible

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") != "POST":
            return self.fallback(environ, start_response)
        started = time.perf_counter()
        try:
            status, body = self.score(environ)
        except Exception:  # a bug, not bad input: logged, and answered like Flask would
            log.exception("POST %s failed", PATH)
            status, body = 500, error_body("internal server error; see the server's log", 500)
        if status >= 400:
            drain_body(environ, DRAIN_FACTOR * self.max_body_bytes)
        start_response(
            f"{status} {HTTPStatus(status).phrase}",
            [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
        )
        count, latency = metrics.request_series(PATH, str(status))
        count.inc()
        latency.observe(time.perf_counter() - started)
        return [body]

    def score(self, environ: dict) -> tuple[int, bytes]:
        try:
            mimetype = content_type(environ)
            raw = self.read(environ)
        except PayloadError as exc:
            return exc.status, error_body(str(exc), exc.status)
        model = self.holder.current  # read once: an alias swap mid-request cannot mix versions
        if model is None:
            return 503, error_body(self.not_ready(), 503)
        early, hint, data = (None, None, raw) if mimetype != JSON else self.json(model, raw)
        return early or self.exact(model, data, mimetype, hint)

    def json(
        self, model: Any, raw: bytes
    ) -> tuple[tuple[int, bytes] | None, PayloadError | None, bytes | dict]:
        """A JSON body: the fast path's answer if it takes it; else what our parser found
        wrong, and the body for MLflow's path (its unnamed rows named, by default)."""
        try:
            body = loads(raw)
        except ValueError as exc:  # MLflow's parser (json) refuses it too
            message = f"malformed JSON: {exc}"
            return (400, error_body(message, 400, "BAD_REQUEST", message)), None, raw
        scored, hint = self.fast(model, body)
        if scored is not None:
            return scored, None, raw
        named = body if self.mlflow_compatible else with_names(body, model.columns)
        return None, hint, raw if named is body else named  # as sent, unless named

    def exact(
        self, model: Any, data: bytes | dict, mimetype: str, hint: PayloadError | None
    ) -> tuple[int, bytes]:
        """MLflow's answer, as MLflow wrote it, with which model; or its refusal, with our
        hint first where our parser found what is wrong."""
        answer = exact_path.invoke(model.pyfunc, data, mimetype)
        if answer.status == 200:
            text = answer.response.rstrip()
            if not text.startswith('{"predictions": '):  # MLflow's unwrapped (LLM) answer
                return 200, text.encode()
            count_predictions(model, answer.predictions())
            return 200, text[:-1].encode() + b', "model": ' + dumps(described(model)) + b"}"
        if answer.failure is not None and hint is None:
            status, body = self.model_failed(model, answer.failure, answer.message)
            return (answer.status, body) if self.mlflow_compatible else (status, body)
        status = answer.status if self.mlflow_compatible or hint is None else hint.status
        mine = str(hint) if hint is not None else answer.message
        return status, error_body(mine, status, answer.error_code, answer.message)

    def fast(self, model: Any, body: Any) -> tuple[tuple[int, bytes] | None, PayloadError | None]:
        """The fast path's answer, or none and what our parser found wrong (the hint of
        the answer, should MLflow's path refuse the body too)."""
        positional = not self.mlflow_compatible
        try:
            if model.fast is None:
                rows(body, model.columns, positional)
                return None, None
            return self.scored(model, model.fast(body, positional)), None
        except Defer:
            return None, None
        except PayloadError as exc:
            return None, exc
        except Exception:  # MLflow's path decides, and tells whether the model failed
            log.warning("fast path of %s version %s raised; scoring with MLflow's",
                        model.name, model.version, exc_info=True)  # fmt: skip
            return None, None

    def scored(self, model: Any, predictions: list) -> tuple[int, bytes]:
        count_predictions(model, predictions)
        return 200, dumps({"predictions": predictions, "model": described(model)})

    def model_failed(self, model: Any, exc: Exception, theirs: str) -> tuple[int, bytes]:
        """A model that raised on an input that passed the parser and the signature
        (``theirs``: MLflow's message for it)."""
        cause = f"{type(exc).__name__}: {exc}"
        if model.example_checked:
            log.warning("model %s version %s cannot score an input: %s",
                        model.name, model.version, cause)  # fmt: skip
            message = (
                f"model {model.name} version {model.version} cannot score this input ({cause});"
                " the input matches its signature and the version scores its own input"
                " example, so these values are outside what it handles"
            )
            return 422, error_body(message, 422, "BAD_REQUEST", theirs)
        log.error("model %s version %s failed on a valid input: %s", model.name, model.version,
                  cause, exc_info=exc)  # fmt: skip
        message = (
            f"model {model.name} version {model.version} failed to score an input that"
            f" matches its signature ({cause}); it has no input example that proves it"
            " scores anything, so this is taken as a fault of the version, not of the request"
        )
        return 500, error_body(message, 500, "INTERNAL_ERROR", theirs)

    def read(self, environ: dict) -> bytes:
        raw = read_body(environ, self.max_body_bytes)
        if raw is None:
            raise PayloadError(
                f"request body over the {self.max_body_bytes} byte limit;"
                " send fewer rows per request",
                413,
            )
        return raw

    def not_ready(self) -> str:
        holder = self.holder
        last = f"; {holder.last_error}" if holder.last_error else ""
        return f"no model loaded yet for {holder.name}@{holder.alias}{last}"


JSON = "application/json"
# what MLflow's scoring function reads (scoring_server.CONTENT_TYPES)
CONTENT_TYPES = ("application/json", "text/csv", "application/x-parquet")
# MLflow's error codes (mlflow.protos.databricks_pb2) for the answers of our own
ERROR_CODES = {500: "INTERNAL_ERROR", 503: "TEMPORARILY_UNAVAILABLE"}


def content_type(environ: dict) -> str:
    """The request's media type, checked as MLflow checks it (charset utf-8 only, no
    other parameter), except that the type's case does not matter (RFC 9110)."""
    raw = environ.get("CONTENT_TYPE", "")
    mimetype, *parameters = (part.strip() for part in raw.split(";"))
    mimetype = mimetype.lower()
    if mimetype not in CONTENT_TYPES:
        raise PayloadError(
            f"Content-Type must be one of {list(CONTENT_TYPES)}, got '{mimetype or 'none'}'", 415
        )
    pairs = (p.partition("=") for p in parameters)
    values = {key.strip().lower(): value.strip() for key, _, value in pairs}
    if values.get("charset", "utf-8").strip('"').lower() != "utf-8":
        raise PayloadError(f"the body must be UTF-8, got charset={values['charset']}", 415)
    unknown = sorted(set(values) - {"charset"})
    if unknown:
        raise PayloadError(f"unknown Content-Type parameters {unknown}; only charset is read", 415)
    return mimetype


def described(model: Any) -> dict[str, Any]:
    return {"name": model.name, "version": model.version, "alias": model.alias}


def error_body(mine: str, status: int, code: str = "", message: str = "") -> bytes:
    code = code or ERROR_CODES.get(status, "BAD_REQUEST")
    return dumps({"error": mine, "error_code": code, "message": message or mine})


def dumps(answer: dict) -> bytes:
    """orjson; the standard library for what orjson cannot write (integers beyond 64 bits)."""
    try:
        return orjson.dumps(answer, option=orjson.OPT_SERIALIZE_NUMPY)
    except (TypeError, orjson.JSONEncodeError):
        return json.dumps(answer).encode()


def count_predictions(model: Any, predictions: list) -> None:
    """Rows per known class for a classifier, a histogram of values for a regressor:
    no label takes a value from the input, so the series stay bounded."""
    if model.classes:
        for cls, n in Tally(map(str, predictions)).items():
            if cls in model.classes:
                metrics.prediction_series(model.name, cls).inc(n)
        return
    values = metrics.prediction_values(model.name)
    for value in predictions:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            values.observe(value)
