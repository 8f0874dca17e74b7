"""Settings from environment variables, with documented defaults.

| variable                     | default                              |
|------------------------------|--------------------------------------|
| MLFLOW_TRACKING_URI          | http://127.0.0.1:5000                |
| MLOPS_APP_DB_URL             | postgresql://app@127.0.0.1:5435/app  |
| MLOPS_MODEL_NAME             | iris-classifier                      |
| MLOPS_MODEL_ALIAS            | Production                           |
| MLOPS_CANDIDATE_ALIAS        | candidate                            |
| MLOPS_TRAINING_EXPERIMENT    | iris-training                        |
| MLOPS_MONITORING_EXPERIMENT  | iris-monitoring                      |

Credentials never live here: the app-db password comes with the URL from the
service's environment file (or PGPASSWORD / ~/.pgpass).
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    tracking_uri: str
    app_db_url: str
    model_name: str
    serving_alias: str
    candidate_alias: str
    training_experiment: str
    monitoring_experiment: str


def settings() -> Settings:
    env = os.environ.get
    return Settings(
        tracking_uri=env("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000"),
        app_db_url=env("MLOPS_APP_DB_URL", "postgresql://app@127.0.0.1:5435/app"),
        model_name=env("MLOPS_MODEL_NAME", "iris-classifier"),
        serving_alias=env("MLOPS_MODEL_ALIAS", "Production"),
        candidate_alias=env("MLOPS_CANDIDATE_ALIAS", "candidate"),
        training_experiment=env("MLOPS_TRAINING_EXPERIMENT", "iris-training"),
        monitoring_experiment=env("MLOPS_MONITORING_EXPERIMENT", "iris-monitoring"),
    )
