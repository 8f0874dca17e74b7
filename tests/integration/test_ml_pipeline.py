"""The ml package against real PostgreSQL, SeaweedFS and MLflow."""

from __future__ import annotations

from datetime import datetime

import psycopg
import pytest

from ml import data, inference, promote, registry, training


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

    (nothing,) = training.evaluate_models(cfg=cfg).evaluations
    assert (nothing.n_rows, nothing.metrics, nothing.data_batches) == (0, {}, ())
    with psycopg.connect(cfg.app_db_url) as conn:
        assert conn.execute("SELECT count(*) FROM model_evaluations").fetchone()[0] == 0

    data.load_batch(cfg.app_db_url, "day-1")
    (figure,) = training.evaluate_models(cfg=cfg).evaluations
    assert (figure.n_rows, figure.data_batches) == (30, ("day-1",))
    assert 0.5 < figure.metrics["accuracy"] <= 1.0
    with psycopg.connect(cfg.app_db_url) as conn:
        rows = conn.execute("SELECT n_rows, data_batch FROM model_evaluations").fetchall()
    assert rows == [(30, "day-1")]
