"""WSGI entry point: ``gunicorn -c server/gunicorn_conf.py server.wsgi:app``.

Configuration (environment):
  MLFLOW_TRACKING_URI        tracking server (default http://127.0.0.1:5000)
  MLOPS_MODEL_NAME           registered model (default iris-classifier)
  MLOPS_MODEL_ALIAS          alias to serve and follow (default Production)
  MLOPS_ALIAS_POLL_SECONDS   how often each worker checks the alias (default 10)
  MLOPS_MAX_BODY_BYTES       request body limit (default 1048576)
  MLOPS_MODEL_CACHE_DIR      local copy of the served versions, served when MLflow or
                             the object store is down at start (default: none)
  MLOPS_MLFLOW_COMPATIBLE    "true": answer exactly as `mlflow models serve` where we
                             differ on purpose (default false; see server.invocations)

Each worker imports this module after the fork, so each runs its own follower.
"""

from __future__ import annotations

import logging
import os

from ml.config import settings
from server.alias_follower import ModelHolder
from server.app import DEFAULT_MAX_BODY_BYTES, create_app

cfg = settings()

logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
holder = ModelHolder.for_registry(
    cfg.tracking_uri,
    cfg.model_name,
    cfg.serving_alias,
    float(os.environ.get("MLOPS_ALIAS_POLL_SECONDS", "10")),
    cache_dir=os.environ.get("MLOPS_MODEL_CACHE_DIR") or None,
).start()
app = create_app(
    holder,
    int(os.environ.get("MLOPS_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES)),
    mlflow_compatible=os.environ.get("MLOPS_MLFLOW_COMPATIBLE", "false").lower() == "true",
)
