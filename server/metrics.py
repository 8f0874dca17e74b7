"""Prometheus metrics of the model server, correct under several gunicorn workers.

With PROMETHEUS_MULTIPROC_DIR set (gunicorn), every worker writes to files there
and /metrics aggregates them; gauges say how workers combine (``livemax``...).
"""

from __future__ import annotations

import os
from functools import cache

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUESTS = Counter(
    "mlops_http_requests_total", "HTTP requests by endpoint and status", ["endpoint", "status"]
)
LATENCY = Histogram(
    "mlops_http_request_duration_seconds",
    "HTTP request latency by endpoint and status",
    ["endpoint", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
PREDICTIONS = Counter(
    "mlops_predictions_total", "Predicted rows by known class of a classifier", ["model", "cls"]
)
PREDICTION_VALUES = Histogram(
    "mlops_prediction_values",
    "Predicted values of models without classes (regressors)",
    ["model"],
)
MODEL_LOADED = Gauge(
    "mlops_model_loaded",
    "1 for the model version a worker serves",
    ["model", "version", "alias"],
    multiprocess_mode="livemax",
)
MODEL_READY = Gauge(
    "mlops_model_ready", "1 when every live worker has a model loaded", multiprocess_mode="livemin"
)
REGISTRY_REACHABLE = Gauge(
    "mlops_registry_reachable",
    "1 when the last alias check reached MLflow (min over workers)",
    multiprocess_mode="livemin",
)
ALIAS_SET = Gauge(
    "mlops_model_alias_set",
    "1 when the serving alias exists in the registry, 0 when the registry says it is not set",
    multiprocess_mode="livemin",
)
RELOADS = Counter("mlops_model_reloads_total", "Model versions loaded after an alias move")
RELOAD_FAILURES = Counter(
    "mlops_model_reload_failures_total",
    "Failed model loads (a version that does not load or fails on its own input example)",
)


# The labelled series of the per-request metrics, looked up once per label set: labels()
# takes a lock and checks its arguments on every call (few label sets: endpoints x
# statuses, models x classes).
@cache
def request_series(endpoint: str, status: str) -> tuple[Counter, Histogram]:
    return REQUESTS.labels(endpoint, status), LATENCY.labels(endpoint, status)


@cache
def prediction_series(model: str, cls: str) -> Counter:
    return PREDICTIONS.labels(model, cls)


@cache
def prediction_values(model: str) -> Histogram:
    return PREDICTION_VALUES.labels(model)


def exposition() -> tuple[bytes, str]:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
