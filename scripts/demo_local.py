#!/usr/bin/env python3
"""The demo path on this machine, with real services and no VM:

PostgreSQL, SeaweedFS (S3) and an MLflow server start on free 127.0.0.1 ports
in temp dirs (the same harness the tests use), then: load iris -> train the
candidate families -> promote `candidate` to Production -> start the model
server and the tag watcher -> predict -> move the alias and watch the server
follow it -> batch inference -> monitoring -> the tag watcher's history.

    make demo                                  # runs it and stops everything
    .venv/bin/python scripts/demo_local.py --keep   # leave it running to browse MLflow
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ml import data, inference, promote, registry, training  # noqa: E402
from ml.config import Settings  # noqa: E402
from scripts.platform_demo import Client, wait_serving  # noqa: E402
from tests.harness import (  # noqa: E402
    MlflowServer,
    Postgres,
    SeaweedFS,
    model_server,
    running,
    tag_watcher,
)


def step(text: str) -> None:
    print(f"\n== {text}", flush=True)


def start_platform(stack: ExitStack) -> Settings:
    step("starting PostgreSQL, SeaweedFS (S3) and MLflow on 127.0.0.1")
    pg = stack.enter_context(running(Postgres()))
    mlflow_role, mlflow_pw = pg.create_database("mlflow")
    app_role, app_pw = pg.create_database("app")
    s3 = stack.enter_context(running(SeaweedFS()))
    mlflow_uri = pg.url("mlflow", mlflow_role, mlflow_pw, driver="postgresql+psycopg2")
    mlflow = stack.enter_context(running(MlflowServer(mlflow_uri, s3)))
    print(f"MLflow UI: {mlflow.url}   S3: {s3.endpoint}   Postgres: 127.0.0.1:{pg.port}")
    return Settings(
        mlflow.url,
        pg.url("app", app_role, app_pw),
        "iris-classifier",
        "Production",
        "candidate",
        "iris-training",
        "iris-monitoring",
    )


def predict(base: str) -> None:
    script = REPO / "scripts" / "predict_request.py"
    subprocess.run([sys.executable, str(script), "--url", base], check=True)


def train_and_serve(stack: ExitStack, cfg: Settings) -> str:
    step("dag_data_predictions: load iris into app-db")
    print(data.load_reference(cfg.app_db_url))
    print(data.load_batch(cfg.app_db_url, time.strftime("%Y-%m-%d")))

    step("dag_training: train, log and register every family; best gets `candidate`")
    trained = training.train_candidate(cfg=cfg)
    for v in trained.versions:
        print(
            f"  version {v.version:>2}  {v.family:<20} f1_macro={v.metrics['f1_macro']:.3f}"
            f"  log_loss={v.metrics.get('log_loss', float('nan')):.3f}"
        )
    print(
        f"  fit on {trained.fit_rows} rows, figures on {trained.test_rows} unseen rows"
        f" of {', '.join(trained.test_batches)}"
    )
    print(f"candidate -> version {trained.best.version} ({trained.best.family})")

    step("promote: python -m ml.promote --alias Production --from-alias candidate")
    env = {
        "MLFLOW_TRACKING_URI": cfg.tracking_uri,
        "MLOPS_APP_DB_URL": cfg.app_db_url,
        "MLOPS_ALIAS_POLL_SECONDS": "2",
        "MLOPS_WATCH_POLL_SECONDS": "2",
    }
    subprocess.run(
        [sys.executable, "-m", "ml.promote", "--alias", "Production", "--from-alias", "candidate"],
        check=True,
        cwd=REPO,
        env={**env, "PATH": "/usr/bin:/bin"},
    )

    step("model server (gunicorn, 2 workers) and tag watcher")
    for service in (tag_watcher(env), model_server(env)):
        stack.callback(service.stop)
        service.start()
        print(f"  {service.args[-1]} up: {service.health_url}")
    base = service.health_url.rsplit("/", 1)[0]
    predict(base)

    other = next(v.version for v in trained.versions if v.version != trained.best.version)
    step(f"move Production to version {other}: the server follows without a restart")
    promote.promote(
        "Production", version=other, tracking_uri=cfg.tracking_uri, model_name=cfg.model_name
    )
    print(f"switched after {wait_serving(Client(base), other, timeout=30):.1f}s")
    predict(base)
    return base


def infer_and_monitor(cfg: Settings) -> None:
    step("dag_inference: score the unscored batches with Production")
    print(inference.run_inference(cfg=cfg))

    step("dag_model_monitoring: quality of every aliased version, drift per feature")
    result = training.evaluate_models(cfg=cfg)
    for ev in result.evaluations:
        figures = "  ".join(f"{k}={v:.3f}" for k, v in ev.metrics.items())
        figures = figures or "no labelled batch after its fit window yet"
        print(f"  {ev.alias:<10} v{ev.version}  {figures}  ({ev.n_rows} rows)")
    print("  PSI: " + "  ".join(f"{k}={v:.3f}" for k, v in result.drift.items()))

    step("tag watcher: alias history in app-db")
    time.sleep(3)
    with psycopg.connect(cfg.app_db_url) as conn:
        for row in conn.execute(
            "SELECT observed_at, key, old_value, new_value FROM"
            " registry_events WHERE kind = 'alias' ORDER BY id"
        ):
            print(f"  {row[0]:%H:%M:%S}  {row[1]:<10} {row[2]} -> {row[3]}")
    aliases = registry.aliases(registry.client(cfg.tracking_uri), cfg.model_name)
    print(f"aliases now: {aliases}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--keep", action="store_true", help="keep services up until Ctrl-C")
    args = parser.parse_args()
    with ExitStack() as stack:
        cfg = start_platform(stack)
        base = train_and_serve(stack, cfg)
        infer_and_monitor(cfg)
        if args.keep:
            print(f"\nup: MLflow {cfg.tracking_uri}, model server {base}. Ctrl-C stops.")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
        print("\ndemo finished; stopping the services")
    return 0


if __name__ == "__main__":
    sys.exit(main())
