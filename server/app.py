"""The model server's HTTP API (Flask), a drop-in for ``mlflow models serve``.

POST /invocations  MLflow scoring protocol -> {"predictions": [...], "model": {...}}
GET  /health       liveness
GET  /ready        200 with a model loaded, else 503; registry reachability in the body
GET  /model        what is loaded and since when
GET  /metrics      Prometheus (multiprocess-aware)

Bad input never gives a 500: 400 malformed JSON, 413 body too large, 415 wrong
content type, 422 wrong shape/columns/values, 503 no model yet, always as
{"error": "..."} saying what to fix.
"""

from __future__ import annotations

import json
import time
from collections import Counter as Tally
from typing import Any

import orjson
from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from server import metrics
from server.alias_follower import ModelHolder
from server.openapi import spec
from server.payload import PayloadError

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
# How much of an unread body an error answer reads and drops first, as a multiple of
# the limit: above the proxy's own limit (2 MiB against 1 MiB), bounded for direct clients.
DRAIN_FACTOR = 8


def _error(status: int, message: str) -> tuple[Response, int]:
    return jsonify(error=message), status


def _loads(raw: bytes) -> Any:
    """orjson's parser (a 100-row body in 40 instead of 110 us); the standard library's
    for what orjson refuses and ``mlflow models serve`` takes (NaN, Infinity, integers
    beyond 64 bits), so those still get the 422 that names them, and malformed JSON
    still gets the standard library's message."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)


def _drain_body(limit: int) -> None:
    """Read and drop what is left of the request body, at most ``limit`` bytes.

    A worker that answers early (413, 415) and closes the socket with the body unread
    makes the kernel reset the connection; a client still sending, such as nginx
    forwarding a buffered body, then gets the reset instead of the answer: a 502."""
    environ = request.environ
    if request.content_length is None and not environ.get("wsgi.input_terminated"):
        return  # no length and no chunking: nothing to read, and a read could block
    stream = environ.get("wsgi.input")
    while stream is not None and limit > 0:
        chunk = stream.read(min(65536, limit))
        if not chunk:
            return
        limit -= len(chunk)


def create_app(holder: ModelHolder, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> Flask:
    app = Flask("mlops_model_server")
    app.config["MAX_CONTENT_LENGTH"] = max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]

    @app.before_request
    def _start_timer() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def _observe(response: Response) -> Response:
        endpoint = request.url_rule.rule if request.url_rule else "unmatched"
        count, latency = metrics.request_series(endpoint, str(response.status_code))
        count.inc()
        latency.observe(time.perf_counter() - g.started)
        if response.status_code >= 400:
            _drain_body(DRAIN_FACTOR * max_body_bytes)
        return response

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> tuple[Response, int]:
        if isinstance(exc, RequestEntityTooLarge):
            return _error(
                413,
                f"request body over the {max_body_bytes} byte limit; send fewer rows per request",
            )
        return _error(exc.code or 500, exc.description or exc.name)

    @app.post("/invocations")
    def invocations() -> tuple[Response, int] | Response:
        if request.mimetype != "application/json":
            return _error(
                415, f"Content-Type must be application/json, got '{request.mimetype or 'none'}'"
            )
        if request.content_length is not None and request.content_length > max_body_bytes:
            raise RequestEntityTooLarge
        raw = request.get_data(cache=False)
        try:
            body = _loads(raw)
        except ValueError as exc:
            return _error(400, f"malformed JSON: {exc}")
        model = holder.current  # read once: an alias swap mid-request cannot mix versions
        if model is None:
            return _error(
                503,
                f"no model loaded yet for {holder.name}@{holder.alias}"
                f"{'; ' + holder.last_error if holder.last_error else ''}",
            )
        try:
            predictions = model.predict(body)
        except PayloadError as exc:
            return _error(exc.status, str(exc))
        except ValueError as exc:  # the estimator refused the input (e.g. wrong dtype)
            return _error(422, f"the model could not score this input: {exc}")
        for cls, n in Tally(map(str, predictions)).items():
            metrics.prediction_series(model.name, cls).inc(n)
        described = {"name": model.name, "version": model.version, "alias": model.alias}
        return Response(
            orjson.dumps({"predictions": predictions, "model": described}),
            mimetype="application/json",
        )

    @app.get("/health")
    def health() -> Response:
        return jsonify(status="ok")

    @app.get("/ready")
    def ready() -> tuple[Response, int]:
        model = holder.current
        body = {
            "ready": model is not None,
            "registry": holder.status(),
            "model": model.describe() if model else None,
        }
        return jsonify(body), (200 if model else 503)

    @app.get("/model")
    def model_info() -> tuple[Response, int]:
        model = holder.current
        if model is None:
            return _error(503, f"no model loaded yet for {holder.name}@{holder.alias}")
        return jsonify({**model.describe(), "registry": holder.status()}), 200

    @app.get("/openapi.json")
    def openapi() -> Response:
        model = holder.current
        return jsonify(spec(model.columns if model else None))

    @app.get("/metrics")
    def prometheus() -> Response:
        payload, content_type = metrics.exposition()
        return Response(payload, content_type=content_type)

    return app
