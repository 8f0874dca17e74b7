"""The model server's HTTP API (Flask), a drop-in for ``mlflow models serve``.

POST /invocations  MLflow scoring protocol -> {"predictions": [...], "model": {...}}
GET  /ping         as ``mlflow models serve``: 200 and "\n" once a model is loaded (503 before)
GET  /version      as ``mlflow models serve``: the MLflow version, as plain text
GET  /health       liveness
GET  /ready        200 with a model loaded, else 503; the state (serving, alias-not-set,
                   registry-unreachable, load-failed, starting) in the body
GET  /model        what is loaded and since when
GET  /metrics      Prometheus (multiprocess-aware)

POST /invocations is served by server/invocations.py, a WSGI path in front of Flask,
with its error answers. Every error is JSON: {"error": "...", "error_code": "...",
"message": "..."}, "error" saying what to fix, the other two as MLflow names them.
"""

from __future__ import annotations

import time

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from server import invocations, metrics
from server.alias_follower import ModelHolder
from server.openapi import spec

DEFAULT_MAX_BODY_BYTES = 1024 * 1024


def _error(status: int, message: str) -> tuple[Response, int]:
    body = invocations.error_body(message, status)
    return Response(body, status=status, content_type="application/json"), status


def create_app(
    holder: ModelHolder,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    mlflow_compatible: bool = False,
) -> Flask:
    """``mlflow_compatible``: answer exactly as ``mlflow models serve`` where we differ
    on purpose (positional rows refused, MLflow's status codes); see server.invocations."""
    app = Flask("mlops_model_server")
    app.json.sort_keys = False  # type: ignore[attr-defined]
    # POST /invocations is answered by the middleware and never reaches Flask; the rule
    # is here so that Flask answers the other methods (405, OPTIONS) and knows the path.
    app.add_url_rule(invocations.PATH, endpoint="invocations", methods=["POST"])
    app.wsgi_app = invocations.Invocations(  # type: ignore[method-assign]
        app.wsgi_app, holder, max_body_bytes, mlflow_compatible
    )

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
            invocations.drain_body(request.environ, invocations.DRAIN_FACTOR * max_body_bytes)
        return response

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> tuple[Response, int]:
        return _error(exc.code or 500, exc.description or exc.name)

    @app.get("/health")
    def health() -> Response:
        return jsonify(status="ok")

    @app.get("/ping")
    def ping() -> tuple[Response, int]:
        if holder.current is None:
            return _error(503, f"no model loaded yet for {holder.name}@{holder.alias}")
        return Response("\n", content_type="application/json"), 200

    @app.get("/version")
    def version() -> Response:
        from mlflow.version import VERSION  # noqa: PLC0415

        return Response(VERSION, content_type="application/json")

    @app.get("/ready")
    def ready() -> tuple[Response, int]:
        model = holder.current
        body = {
            "ready": model is not None,
            "state": holder.state(),
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
