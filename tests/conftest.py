"""Session-wide real services: one PostgreSQL cluster (databases mlflow, app,
airflow), one SeaweedFS S3 server and one MLflow tracking server on top."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from ml.config import Settings
from tests.harness import MlflowServer, Postgres, SeaweedFS


@dataclass
class Platform:
    pg: Postgres
    s3: SeaweedFS
    mlflow: MlflowServer
    airflow_db_url: str

    def settings(self, model_name: str = "iris-classifier") -> Settings:
        """Settings for one test module: its own model name and its own app database."""
        role, password = self.pg.create_database("app_" + model_name.replace("-", "_"))
        return Settings(
            tracking_uri=self.mlflow.url,
            app_db_url=self.pg.url(role, role, password),
            model_name=model_name,
            serving_alias="Production",
            candidate_alias="candidate",
            training_experiment=f"{model_name}-training",
            monitoring_experiment=f"{model_name}-monitoring",
        )

    def env(self, cfg: Settings) -> dict[str, str]:
        """The environment a service on the VM gets for these settings."""
        return {
            "MLFLOW_TRACKING_URI": cfg.tracking_uri,
            "MLOPS_APP_DB_URL": cfg.app_db_url,
            "MLOPS_MODEL_NAME": cfg.model_name,
            "MLOPS_MODEL_ALIAS": cfg.serving_alias,
            "MLOPS_CANDIDATE_ALIAS": cfg.candidate_alias,
            "MLOPS_TRAINING_EXPERIMENT": cfg.training_experiment,
            "MLOPS_MONITORING_EXPERIMENT": cfg.monitoring_experiment,
        }


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    pg = Postgres()
    try:
        yield pg.start()
    finally:
        pg.stop()


@pytest.fixture(scope="session")
def platform(postgres: Postgres) -> Iterator[Platform]:
    urls = {}
    for name in ("mlflow", "airflow"):
        role, password = postgres.create_database(name)
        urls[name] = postgres.url(name, role, password)
    s3 = SeaweedFS().start()
    mlflow = MlflowServer(urls["mlflow"].replace("postgresql://", "postgresql+psycopg2://"), s3)
    try:
        mlflow.start()
        yield Platform(postgres, s3, mlflow, urls["airflow"])
    finally:
        mlflow.stop()
        s3.stop()
