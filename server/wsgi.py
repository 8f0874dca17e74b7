"""WSGI entry point: ``gunicorn -c server/gunicorn_conf.py server.wsgi:app``.

Configuration (environment):
  MLFLOW_TRACKING_URI        tracking server (default http://127.0.0.1:5000)
  MLOPS_MODEL_NAME           registered model (default iris-classifier)
  MLOPS_MODEL_ALIAS          alias to serve and follow (default Production)
  MLOPS_ALIAS_POLL_SECONDS   how often each worker checks the alias (default 10)
  MLOPS_MAX_BODY_BYTES       request body limit (default 1048576)

Each worker imports this module after the fork, so each runs its own follower.
"""

from __future__ import annotations

import logging
import os

from server import model_loader
from server.alias_follower import ModelHolder
from server.app import DEFAULT_MAX_BODY_BYTES, create_app


def _holder_from_env() -> ModelHolder:
    from ml.registry import client, version_for_alias  # noqa: PLC0415

    tracking_uri = os.environ.get("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    name = os.environ.get("MLOPS_MODEL_NAME", "iris-classifier")
    alias = os.environ.get("MLOPS_MODEL_ALIAS", "Production")
    poll = float(os.environ.get("MLOPS_ALIAS_POLL_SECONDS", "10"))
    registry = client(tracking_uri)
    return ModelHolder(
        name=name,
        alias=alias,
        resolve=lambda: version_for_alias(registry, name, alias),
        load=lambda version: model_loader.load(tracking_uri, name, version, alias),
        poll_seconds=poll,
    )


logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
holder = _holder_from_env().start()
app = create_app(holder, int(os.environ.get("MLOPS_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES)))
