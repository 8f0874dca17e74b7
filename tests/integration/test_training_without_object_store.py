"""Training while the object store is down: a real MLflow server whose SeaweedFS
is stopped. The run fails with a message that names the cause, and no model
version is registered without its artifacts, so a retry starts clean."""

from __future__ import annotations

import dataclasses

import pytest

from ml import data, registry, training
from tests.harness import MlflowServer, SeaweedFS


@pytest.fixture
def mlflow_without_s3(platform):
    role, password = platform.pg.create_database("mlflow_no_s3")
    s3 = SeaweedFS().start()
    server = MlflowServer(platform.pg.url(role, role, password, driver="postgresql+psycopg2"), s3)
    try:
        server.start()
        s3.stop()  # the bucket exists, then the object store goes away
        yield server
    finally:
        server.stop()
        s3.stop()


def test_training_fails_clearly_and_registers_nothing(platform, mlflow_without_s3, monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")  # as Airflow's tasks: fail fast
    cfg = dataclasses.replace(
        platform.settings("no-object-store"), tracking_uri=mlflow_without_s3.url
    )
    data.load_reference(cfg.app_db_url)
    with pytest.raises(training.ArtifactStoreError, match=r"Is the object store up\?"):
        training.train_candidate(families=("logistic_regression",), cfg=cfg)
    versions = registry.client(cfg.tracking_uri).search_model_versions(f"name='{cfg.model_name}'")
    assert list(versions) == []
