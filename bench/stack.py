"""The throwaway stack every benchmark runs on: a PostgreSQL cluster, a SeaweedFS
S3 server and an MLflow server on free 127.0.0.1 ports (tests/harness.py), with
one model per family trained on the iris reference data, registered and
promoted to Production. Everything is stopped and removed on exit. The scripts
put the repository on sys.path before they import this."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ml import data, promote, training
from ml.config import Settings
from tests.harness import MlflowServer, Postgres, SeaweedFS, running

RESULTS = Path(__file__).resolve().parent / "results"

# label in the tables -> model family of ml.training
MODELS = {"linear": "logistic_regression", "forest": "random_forest"}


@dataclass
class Trained:
    """One registered model: its settings (own name, own app database) and version."""

    label: str
    cfg: Settings
    version: int

    @property
    def uri(self) -> str:
        return f"models:/{self.cfg.model_name}/{self.version}"

    def env(self) -> dict[str, str]:
        """What the model server's unit gets on the VM for this model."""
        return {
            "MLFLOW_TRACKING_URI": self.cfg.tracking_uri,
            "MLOPS_APP_DB_URL": self.cfg.app_db_url,
            "MLOPS_MODEL_NAME": self.cfg.model_name,
            "MLOPS_MODEL_ALIAS": self.cfg.serving_alias,
        }


@contextlib.contextmanager
def trained_stack(labels: tuple[str, ...] = tuple(MODELS)) -> Iterator[dict[str, Trained]]:
    with running(Postgres()) as pg, running(SeaweedFS()) as s3:
        role, password = pg.create_database("mlflow")
        backend = pg.url("mlflow", role, password, driver="postgresql+psycopg2")
        with running(MlflowServer(backend, s3)) as mlflow_server:
            trained = {}
            for label in labels:
                role, password = pg.create_database(f"app_{label}")
                cfg = Settings(
                    tracking_uri=mlflow_server.url,
                    app_db_url=pg.url(role, role, password),
                    model_name=f"bench-{label}",
                    serving_alias="Production",
                    candidate_alias="candidate",
                    training_experiment=f"bench-{label}",
                    monitoring_experiment=f"bench-{label}-monitoring",
                )
                data.load_reference(cfg.app_db_url)
                result = training.train_candidate(families=(MODELS[label],), cfg=cfg)
                version = result.best.version
                promote.promote(
                    "Production",
                    version=version,
                    model_name=cfg.model_name,
                    tracking_uri=cfg.tracking_uri,
                )
                trained[label] = Trained(label, cfg, version)
            yield trained


def write_result(out: Path, summary: dict) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2))
    print(f"wrote {out}")
