"""OpenAPI 3.0 description of the model server, served at /openapi.json.

It documents MLflow's scoring formats (see server.payload) and every answer the
server gives, errors included; the fuzz test generates requests from it and
checks the answers against it.
"""

from __future__ import annotations

from typing import Any

from server.payload import FORMATS

# MLflow clients may send inference parameters; the served models take none
_PARAMS = {"type": "object", "nullable": True, "description": "Accepted and ignored"}


def _only(key: str, value: dict) -> dict:
    return {
        "type": "object",
        "properties": {key: value, "params": _PARAMS},
        "required": [key],
        "additionalProperties": False,
    }


def _body(columns: tuple[str, ...] | None) -> dict:
    """MLflow's four formats; with the served model's columns when one is loaded."""
    number = {"type": "number"}
    width = {"minItems": len(columns), "maxItems": len(columns)} if columns else {"minItems": 1}
    row = {"type": "array", "items": number, **width}
    if columns:
        record = {
            "type": "object",
            "properties": {c: number for c in columns},
            "required": list(columns),
            "additionalProperties": False,
        }
        names = {
            "type": "array",
            "items": {"type": "string", "enum": list(columns)},
            "uniqueItems": True,
            **width,
        }
        table = {
            "type": "object",
            "properties": {c: {"type": "array", "items": number} for c in columns},
            "required": list(columns),
            "additionalProperties": False,
        }
    else:
        record = {"type": "object", "additionalProperties": number, "minProperties": 1}
        names = {"type": "array", "items": {"type": "string"}}
        table = {"type": "object", "additionalProperties": {"type": "array", "items": number}}
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
    "description": "The request cannot be answered; the message says why.",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {"error": {"type": "string"}},
                "required": ["error"],
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
                        "content": {"application/json": {"schema": _body(columns)}},
                    },
                    "responses": {
                        "200": _json(
                            "One prediction per row, and the model version that made them",
                            {
                                "type": "object",
                                "properties": {"predictions": {"type": "array"}, "model": _MODEL},
                                "required": ["predictions", "model"],
                            },
                        ),
                        "400": _ERROR,
                        "413": _ERROR,
                        "415": _ERROR,
                        "422": _ERROR,
                        "503": _ERROR,
                    },
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
