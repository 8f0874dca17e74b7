"""Batch inference: ml.inference.run_inference() end to end (read the scoring
rows from app-db, load the model from the registry, predict, write the
predictions) against the floor: predict + predict_proba of the same rows in
memory plus one bulk COPY of as many prediction rows into a copy of the
predictions table. Both in the same run on the same throwaway stack; prints
rows/s and ours/floor for each round, writes JSON.

    .venv/bin/python bench/batch_inference.py           # 100,000 rows, 3 rounds
    .venv/bin/python bench/batch_inference.py --quick   # 5,000 rows, 1 round
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from bench.stack import RESULTS, Trained, trained_stack, write_result  # noqa: E402
from ml import data, db, inference, registry  # noqa: E402
from ml.data import LABEL_NAMES  # noqa: E402

PREDICTION_COLUMNS = (
    "batch_id, row_num, predicted_class, predicted_label, probabilities,"
    " model_name, model_version, model_alias, scored_at"
)


def ours(model: Trained, batch_id: str, rows: int) -> float:
    """Seconds of one run_inference() that scores exactly this batch."""
    start = time.perf_counter()
    result = inference.run_inference(cfg=model.cfg)
    seconds = time.perf_counter() - start
    if result.batches != [batch_id] or result.rows != rows:
        raise SystemExit(f"run_inference scored {result.batches} ({result.rows} rows)")
    return seconds


def floor(model: Trained, fitted: object, batch_id: str) -> tuple[float, int]:
    """Seconds of predict + predict_proba + one COPY of the same rows, read beforehand."""
    with db.connect(model.cfg.app_db_url) as conn:
        table = np.asarray(
            conn.execute(
                "SELECT row_num, sepal_length, sepal_width, petal_length, petal_width"
                " FROM scoring_rows WHERE batch_id = %s ORDER BY row_num",
                (batch_id,),
            ).fetchall(),
            dtype=float,
        )
        conn.execute("CREATE TABLE IF NOT EXISTS floor_predictions (LIKE predictions)")
        conn.execute("TRUNCATE floor_predictions")
        conn.commit()
        start = time.perf_counter()
        features = table[:, 1:]
        classes = fitted.predict(features).astype(int)  # type: ignore[attr-defined]
        proba = fitted.predict_proba(features)  # type: ignore[attr-defined]
        now = datetime.now(UTC)
        name, version = model.cfg.model_name, model.version
        with (
            conn.cursor() as cur,
            cur.copy(f"COPY floor_predictions ({PREDICTION_COLUMNS}) FROM STDIN") as out,
        ):
            for row_num, cls, p in zip(
                table[:, 0].astype(int).tolist(), classes.tolist(), proba.tolist(), strict=True
            ):
                out.write_row(
                    (batch_id, row_num, cls, LABEL_NAMES[cls], p, name, version, "Production", now)
                )
        conn.commit()
        return time.perf_counter() - start, len(table)


def run(trained: dict[str, Trained], quick: bool, rows: int | None = None) -> tuple[dict, bool]:
    """Rounds of ours and the floor on the given stack's linear model; the summary."""
    rows = rows or (5_000 if quick else 100_000)
    rounds = 1 if quick else 3
    results = []
    model = trained["linear"]
    start = time.perf_counter()
    fitted = registry.load_sklearn(model.cfg.tracking_uri, model.cfg.model_name, model.version)
    load_seconds = time.perf_counter() - start
    for i in range(rounds):
        batch_id = f"bench-{i}"
        data.load_batch(model.cfg.app_db_url, batch_id, n_labelled=0, n_scoring=rows)
        floor_seconds, floor_rows = floor(model, fitted, batch_id)
        ours_seconds = ours(model, batch_id, rows)
        assert floor_rows == rows
        results.append({"round": i, "ours_s": ours_seconds, "floor_s": floor_seconds})
        print(
            f"round {i}: {rows} rows | ours {rows / ours_seconds:>9.0f} rows/s "
            f"({ours_seconds:.2f} s) | floor {rows / floor_seconds:>9.0f} rows/s "
            f"({floor_seconds:.2f} s) | ours/floor time {ours_seconds / floor_seconds:.2f}",
            flush=True,
        )
    summary = {
        "rows": rows,
        "rounds": results,
        "model_load_s": load_seconds,
        "ours_rows_per_s": rows / statistics.median(r["ours_s"] for r in results),
        "floor_rows_per_s": rows / statistics.median(r["floor_s"] for r in results),
    }
    summary["ours_over_floor_time"] = summary["floor_rows_per_s"] / summary["ours_rows_per_s"]
    print(
        f"median: ours {summary['ours_rows_per_s']:.0f} rows/s, floor "
        f"{summary['floor_rows_per_s']:.0f} rows/s: ours takes "
        f"{summary['ours_over_floor_time']:.2f}x the floor's time (its model load from the "
        f"registry alone: {load_seconds:.2f} s)"
    )
    return summary, True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5,000 rows, one round")
    parser.add_argument("--rows", type=int, help="scoring rows per round (default 100,000)")
    parser.add_argument("--out", type=Path, default=RESULTS / "batch_inference.json")
    args = parser.parse_args()
    with trained_stack(("linear",)) as trained:
        summary, ok = run(trained, args.quick, args.rows)
    write_result(args.out, summary)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
