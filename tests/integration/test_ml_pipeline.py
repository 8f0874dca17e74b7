"""The ml package against real PostgreSQL, SeaweedFS and MLflow."""

from __future__ import annotations

from datetime import datetime

import psycopg
import pytest

from ml import data, inference, monitoring, promote, registry, training


@pytest.fixture(scope="module")
def cfg(platform):
    return platform.settings("pipeline-model")


def ingested(url: str, batch_id: str) -> datetime:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT ingested_at FROM labelled_batches WHERE batch_id = %s", (batch_id,)
        ).fetchone()
    return row[0]


def test_load_is_idempotent(platform, cfg):
    first = data.load_reference(cfg.app_db_url)
    again = data.load_reference(cfg.app_db_url)
    batch = data.load_batch(cfg.app_db_url, "2026-11-01")
    batch_again = data.load_batch(cfg.app_db_url, "2026-11-01")
    assert first.labelled_rows == 150
    assert again.labelled_rows == 0
    assert (batch.labelled_rows, batch.scoring_rows) == (30, 50)
    assert (batch_again.labelled_rows, batch_again.scoring_rows) == (0, 0)
    with psycopg.connect(cfg.app_db_url) as conn:
        n = conn.execute("SELECT count(*) FROM scoring_rows WHERE batch_id = '2026-11-01'")
        assert n.fetchone()[0] == 50


def test_inference_without_production_alias_writes_nothing(cfg):
    with pytest.raises(registry.AliasNotSetError, match="promote one first"):
        inference.run_inference(cfg=cfg)
    with psycopg.connect(cfg.app_db_url) as conn:
        assert conn.execute("SELECT count(*) FROM predictions").fetchone()[0] == 0


def test_train_promote_infer_monitor(cfg):
    result = training.train_candidate(cfg=cfg)
    # fit on the reference set, every figure on the newer day's 30 rows
    assert (result.fit_rows, result.test_rows, result.test_batches) == (150, 30, ("2026-11-01",))
    assert {v.family for v in result.versions} == set(training.FAMILIES)
    assert len({v.version for v in result.versions}) == len(training.FAMILIES)
    client = registry.client(cfg.tracking_uri)
    aliases = registry.aliases(client, cfg.model_name)
    assert aliases == {"candidate": result.best.version}
    for v in result.versions:
        tags = client.get_model_version(cfg.model_name, str(v.version)).tags
        assert tags["family"] == v.family
        assert (tags["split"], tags["test_rows"], tags["test_batches"]) == (
            "time",
            "30",
            "2026-11-01",
        )
        assert datetime.fromisoformat(tags["fit_through"]) < ingested(cfg.app_db_url, "2026-11-01")
        assert float(tags["f1_macro"]) == pytest.approx(v.metrics["f1_macro"], abs=1e-6)
        assert {"accuracy", "f1_macro", "log_loss"} <= set(v.metrics)

    with pytest.raises(promote.PromotionError, match="no version 999"):
        promote.promote(
            "Production", version=999, model_name=cfg.model_name, tracking_uri=cfg.tracking_uri
        )
    promoted = promote.promote(
        "Production",
        from_alias="candidate",
        model_name=cfg.model_name,
        tracking_uri=cfg.tracking_uri,
    )
    assert promoted == result.best.version

    # nothing scored yet: no drift figure, which is not "no drift": a failure saying so
    with pytest.raises(monitoring.NothingScoredError, match="run dag_inference first"):
        training.evaluate_models(cfg=cfg)
    with psycopg.connect(cfg.app_db_url) as conn:
        written = conn.execute(
            "SELECT (SELECT count(*) FROM monitoring_runs), (SELECT count(*) FROM feature_drift),"
            " (SELECT count(*) FROM model_evaluations)"
        ).fetchone()
    assert written == (0, 0, 0)

    scored = inference.run_inference(cfg=cfg)
    assert scored.rows >= 50
    assert scored.model_version == promoted
    assert inference.run_inference(cfg=cfg).rows == 0  # a batch is scored once
    with psycopg.connect(cfg.app_db_url) as conn:
        versions = conn.execute(
            "SELECT DISTINCT model_name, model_version, model_alias FROM predictions"
        ).fetchall()
    assert versions == [(cfg.model_name, promoted, "Production")]

    monitored = training.evaluate_models(cfg=cfg)
    assert {e.alias for e in monitored.evaluations} == {"candidate", "Production"}
    for ev in monitored.evaluations:  # the one batch newer than what they were fit on
        assert (ev.n_rows, ev.data_batches) == (30, ("2026-11-01",)), ev
    assert set(monitored.drift) == set(data.FEATURES)
    with psycopg.connect(cfg.app_db_url) as conn:
        stored = conn.execute("SELECT n_rows, data_batches FROM model_evaluations").fetchall()
        assert stored == [(30, ["2026-11-01"])] * 2
        drift_rows = conn.execute(
            "SELECT feature, psi, threshold, drifted, reference_rows, current_rows"
            " FROM feature_drift"
        ).fetchall()
    assert len(drift_rows) == 4
    # the batches were generated with no shift: nothing may be flagged
    for feature, psi, threshold, drifted, reference_rows, current_rows in drift_rows:
        assert (reference_rows, current_rows) == (data.DRIFT_REFERENCE_ROWS, scored.rows)
        assert not drifted and psi <= threshold, (feature, psi, threshold)


def _monitoring_state(cfg) -> tuple[int, int, int]:
    with psycopg.connect(cfg.app_db_url) as conn:
        evaluations = conn.execute("SELECT count(*) FROM model_evaluations").fetchone()[0]
        drift_rows = conn.execute("SELECT count(*) FROM feature_drift").fetchone()[0]
    client = registry.client(cfg.tracking_uri)
    experiment = client.get_experiment_by_name(cfg.monitoring_experiment)
    return evaluations, drift_rows, len(client.search_runs([experiment.experiment_id]))


def test_a_monitoring_rerun_or_retry_writes_nothing_twice(cfg, monkeypatch):
    """After test_train_promote_infer_monitor: a rerun on the same versions and data writes
    nothing; a try whose database write fails leaves its MLflow run, which the retry
    resumes, then writes its rows once."""
    from ml import monitoring  # noqa: PLC0415

    before = _monitoring_state(cfg)
    again = training.evaluate_models(cfg=cfg)
    assert again.recorded is False
    assert _monitoring_state(cfg) == before

    data.load_batch(cfg.app_db_url, "2026-11-02")  # a new day: a new evaluation
    inference.run_inference(cfg=cfg)

    def write_fails(*args, **kwargs):
        raise psycopg.OperationalError("the database went away")

    with monkeypatch.context() as patched:
        patched.setattr(monitoring, "_write", write_fails)
        with pytest.raises(psycopg.OperationalError):
            training.evaluate_models(cfg=cfg)
    assert _monitoring_state(cfg)[:2] == before[:2]
    assert _monitoring_state(cfg)[2] == before[2] + 1  # the failed try's run

    retried = training.evaluate_models(cfg=cfg)
    assert retried.recorded is True
    evaluations, drift_rows, runs = _monitoring_state(cfg)
    assert (evaluations, drift_rows, runs) == (before[0] + 2, before[1] + 4, before[2] + 1)
    run = registry.client(cfg.tracking_uri).get_run(retried.run_id)
    assert run.info.status == "FINISHED" and run.data.metrics["Production.rows"] == 60
    assert training.evaluate_models(cfg=cfg).recorded is False
    assert _monitoring_state(cfg) == (evaluations, drift_rows, runs)


def test_a_version_gets_no_figure_until_a_batch_newer_than_its_fit_window(platform):
    """Fit on all there is (the reference set alone): monitoring has no unseen labelled
    row, so it writes no figure rather than one on training data; the next day's batch
    gives one, on that batch's rows only."""
    cfg = platform.settings("pipeline-unseen")
    data.load_reference(cfg.app_db_url)
    trained = training.train_candidate(families=("logistic_regression",), cfg=cfg)
    tags = (
        registry.client(cfg.tracking_uri)
        .get_model_version(cfg.model_name, str(trained.best.version))
        .tags
    )
    assert tags["split"] == "reference-holdout"
    assert tags["fit_through"] == ingested(cfg.app_db_url, data.REFERENCE_BATCH).isoformat()

    promote.promote("Production", version=trained.best.version, model_name=cfg.model_name,
                    tracking_uri=cfg.tracking_uri)  # fmt: skip
    data.load_batch(cfg.app_db_url, "day-0", n_labelled=0)  # inputs to score, no labels
    assert inference.run_inference(cfg=cfg).rows == 50

    evaluations = training.evaluate_models(cfg=cfg).evaluations
    assert {e.alias for e in evaluations} == {"candidate", "Production"}
    for nothing in evaluations:
        assert (nothing.n_rows, nothing.metrics, nothing.data_batches) == (0, {}, ())
    with psycopg.connect(cfg.app_db_url) as conn:
        assert conn.execute("SELECT count(*) FROM model_evaluations").fetchone()[0] == 0

    data.load_batch(cfg.app_db_url, "day-1")
    for figure in training.evaluate_models(cfg=cfg).evaluations:
        assert (figure.n_rows, figure.data_batches) == (30, ("day-1",))
        assert 0.5 < figure.metrics["accuracy"] <= 1.0
    with psycopg.connect(cfg.app_db_url) as conn:
        rows = conn.execute("SELECT n_rows, data_batch FROM model_evaluations").fetchall()
    assert rows == [(30, "day-1")] * 2


def test_a_training_retry_after_a_failure_midway_registers_nothing_twice(platform, monkeypatch):
    """The object store fails while the second family is stored: the task fails, and its
    retry (the same attempt, as Airflow's next try of the same run) keeps the version
    already registered, resumes the second family's run and trains the rest. Three
    families, three versions, three runs: no duplicate and no orphan."""
    import mlflow.sklearn  # noqa: PLC0415

    cfg = platform.settings("pipeline-retry")
    data.load_reference(cfg.app_db_url)
    data.load_batch(cfg.app_db_url, "day-1")
    real, calls = mlflow.sklearn.log_model, []
    families = ("logistic_regression", "knn", "svc")

    def fails_on_the_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise ConnectionError("the object store went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(mlflow.sklearn, "log_model", fails_on_the_second)
    with pytest.raises(training.ArtifactStoreError, match="families registered before it"):
        training.train_candidate(families, cfg=cfg, attempt="manual__2026-11-02")
    client = registry.client(cfg.tracking_uri)
    first = client.search_model_versions(f"name='{cfg.model_name}'")
    assert [v.tags["family"] for v in first] == ["logistic_regression"]

    result = training.train_candidate(families, cfg=cfg, attempt="manual__2026-11-02")
    versions = client.search_model_versions(f"name='{cfg.model_name}'")
    assert sorted(v.tags["family"] for v in versions) == sorted(families)
    assert {int(v.version) for v in first} <= {v.version for v in result.versions}
    assert len(calls) == 2 + 2  # the retry stored only the two missing families
    experiment = client.get_experiment_by_name(cfg.training_experiment)
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == len(families), [r.info.run_name for r in runs]
    assert {r.info.status for r in runs} == {"FINISHED"}
    assert result.best.version in {int(v.version) for v in versions}

    # another attempt (a new DAG run) on the same data trains anew
    again = training.train_candidate(families=("knn",), cfg=cfg, attempt="manual__2026-11-03")
    assert again.best.version not in {v.version for v in result.versions}
