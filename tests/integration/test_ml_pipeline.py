"""The ml package against real PostgreSQL, SeaweedFS and MLflow."""

from __future__ import annotations

import psycopg
import pytest

from ml import data, inference, promote, registry, training


@pytest.fixture(scope="module")
def cfg(platform):
    return platform.settings("pipeline-model")


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
    assert {v.family for v in result.versions} == set(training.FAMILIES)
    assert len({v.version for v in result.versions}) == len(training.FAMILIES)
    client = registry.client(cfg.tracking_uri)
    aliases = registry.aliases(client, cfg.model_name)
    assert aliases == {"candidate": result.best.version}
    for v in result.versions:
        tags = client.get_model_version(cfg.model_name, str(v.version)).tags
        assert tags["family"] == v.family
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
    assert set(monitored.drift) == set(data.FEATURES)
    with psycopg.connect(cfg.app_db_url) as conn:
        assert conn.execute("SELECT count(*) FROM model_evaluations").fetchone()[0] == 2
        drift_rows = conn.execute(
            "SELECT feature, psi, threshold, drifted, reference_rows, current_rows"
            " FROM feature_drift"
        ).fetchall()
    assert len(drift_rows) == 4
    # the batches were generated with no shift: nothing may be flagged
    for feature, psi, threshold, drifted, reference_rows, current_rows in drift_rows:
        assert (reference_rows, current_rows) == (data.DRIFT_REFERENCE_ROWS, scored.rows)
        assert not drifted and psi <= threshold, (feature, psi, threshold)
