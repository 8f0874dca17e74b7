"""OpenAPI 3.0 description of the model server, served at /openapi.json.

It documents MLflow's scoring formats (see server.payload) and every answer the
server gives, errors included; the fuzz test generates requests from it and
checks the answers against it. What a body scores to, and which bodies are
refused, is MLflow's own decision (server.exact_path), proven against
``mlflow models serve`` by tests/integration/test_mlflow_parity.py.
"""

from __future__ import annotations

from typing import Any

from server.payload import FORMATS

_PARAMS = {
    "type": "object",
    "nullable": True,
    "description": "Inference parameters, for a model whose signature has them"
    " (MLflow checks them against it; other models ignore them, as MLflow does)",
}


def _only(key: str, value: dict) -> dict:
    """One format key (other keys are ignored, as MLflow ignores them)."""
    return {"type": "object", "properties": {key: value, "params": _PARAMS}, "required": [key]}


def _body(columns: tuple[str, ...] | None) -> dict:
    """MLflow's four formats; with the served model's columns when one is loaded. A value
    is what the column's type takes: numbers, and what MLflow converts (booleans and
    numeric strings for a double column, strings for a string column)."""
    value = {"oneOf": [{"type": "number"}, {"type": "string"}, {"type": "boolean"}]}
    width = {"minItems": len(columns)} if columns else {"minItems": 1}
    row = {"type": "array", "items": value, **width}
    if columns:  # columns beyond the signature's are dropped, as MLflow drops them
        record = {
            "type": "object",
            "properties": {c: value for c in columns},
            "required": list(columns),
        }
        names = {"type": "array", "items": {"type": "string"}, "uniqueItems": True, **width}
        table = {
            "type": "object",
            "properties": {c: {"type": "array", "items": value} for c in columns},
            "required": list(columns),
        }
    else:
        record = {"type": "object", "additionalProperties": value, "minProperties": 1}
        names = {"type": "array", "items": {"type": "string"}}
        table = {"type": "object", "additionalProperties": {"type": "array", "items": value}}
    rows = {"type": "array", "items": row, "minItems": 1}
    records = {"type": "array", "items": record, "minItems": 1}
    split = {"type": "object", "properties": {"columns": names, "data": rows}, "required": ["data"]}
    return {
        "oneOf": [
            _only("dataframe_split", split),
            _only("dataframe_records", records),
            _only("instances", {"oneOf": [rows, records]}),
            _only("inputs", {"oneOf": [rows, records, table]}),
        ]
    }


_MODEL = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "version": {"type": "integer"},
        "alias": {"type": "string"},
    },
    "required": ["name", "version", "alias"],
}
_ERROR = {
    "description": "The request cannot be answered: error says why and what to fix;"
    " error_code and message are MLflow's (its own words where MLflow refused it too).",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {
                    "error": {"type": "string"},
                    "error_code": {"type": "string"},
                    "message": {"type": "string"},
                },
                "required": ["error", "error_code", "message"],
            }
        }
    },
}


def _json(description: str, schema: dict) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def spec(columns: tuple[str, ...] | None = None) -> dict[str, Any]:
    """The description; request bodies name the served model's columns when given."""
    ready = {
        "type": "object",
        "properties": {
            "ready": {"type": "boolean"},
            "state": {
                "type": "string",
                "enum": [
                    "serving",
                    "alias-not-set",
                    "registry-unreachable",
                    "load-failed",
                    "starting",
                ],
            },
            "registry": {"type": "object"},
            "model": {"type": "object", "nullable": True},
        },
        "required": ["ready", "state", "registry", "model"],
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "mlops-vm model server",
            "version": "1",
            "description": "Serves the registry version behind an MLflow alias, "
            f"with MLflow's scoring formats ({', '.join(FORMATS)}).",
        },
        "paths": {
            "/invocations": {
                "post": {
                    "summary": "Predict rows",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": _body(columns)},
                            "text/csv": {"schema": {"type": "string"}},
                        },
                    },
                    "responses": {
                        "200": _json(
                            "The predictions as MLflow shapes them (a list, or the records"
                            " or mapping the model returns), and the version that made them",
                            {
                                "type": "object",
                                "properties": {"predictions": {}, "model": _MODEL},
                                "required": ["predictions", "model"],
                            },
                        ),
                        "400": _ERROR,
                        "413": _ERROR,
                        "415": _ERROR,
                        "422": _ERROR,
                        "500": _ERROR,
                        "503": _ERROR,
                    },
                }
            },
            "/ping": {
                "get": {
                    "summary": "As mlflow models serve: 200 once a model is loaded",
                    "responses": {"200": _json("Loaded", {"type": "string"}), "503": _ERROR},
                }
            },
            "/version": {
                "get": {
                    "summary": "The MLflow version, as mlflow models serve answers it",
                    "responses": {"200": _json("e.g. 3.17.2", {"type": "string"})},
                }
            },
            "/health": {
                "get": {
                    "summary": "Liveness",
                    "responses": {"200": _json("The process answers", {"type": "object"})},
                }
            },
            "/ready": {
                "get": {
                    "summary": "Readiness: a model version is loaded",
                    "responses": {
                        "200": _json("Ready", ready),
                        "503": _json("No model loaded yet", ready),
                    },
                }
            },
            "/model": {
                "get": {
                    "summary": "The served model version and the registry's state",
                    "responses": {"200": _json("Loaded", {"type": "object"}), "503": _ERROR},
                }
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics of every worker",
                    "responses": {
                        "200": {
                            "description": "Prometheus text format",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        }
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This description",
                    "responses": {"200": _json("OpenAPI 3.0", {"type": "object"})},
                }
            },
        },
    }
