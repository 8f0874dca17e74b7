"""app-db access: connections and schema migrations that are safe to rerun.

Migrations are numbered and applied once each inside one transaction, under an
advisory lock so that concurrent callers (two DAG tasks, the tag watcher) do not
race. Never edit an applied migration: append a new one.
"""

from __future__ import annotations

import psycopg

FEATURES: tuple[str, ...] = ("sepal_length", "sepal_width", "petal_length", "petal_width")

_MIGRATION_LOCK = 424242

MIGRATIONS: tuple[str, ...] = (
    # 1: labelled training/evaluation rows and unlabelled scoring batches
    """
    CREATE TABLE labelled_batches (
        batch_id     text PRIMARY KEY,
        ingested_at  timestamptz NOT NULL DEFAULT now(),
        n_rows       integer NOT NULL
    );
    CREATE TABLE labelled_rows (
        batch_id     text NOT NULL REFERENCES labelled_batches(batch_id),
        row_num      integer NOT NULL,
        sepal_length double precision NOT NULL,
        sepal_width  double precision NOT NULL,
        petal_length double precision NOT NULL,
        petal_width  double precision NOT NULL,
        label        integer NOT NULL,
        PRIMARY KEY (batch_id, row_num)
    );
    CREATE TABLE scoring_batches (
        batch_id     text PRIMARY KEY,
        ingested_at  timestamptz NOT NULL DEFAULT now(),
        n_rows       integer NOT NULL
    );
    CREATE TABLE scoring_rows (
        batch_id     text NOT NULL REFERENCES scoring_batches(batch_id),
        row_num      integer NOT NULL,
        sepal_length double precision NOT NULL,
        sepal_width  double precision NOT NULL,
        petal_length double precision NOT NULL,
        petal_width  double precision NOT NULL,
        PRIMARY KEY (batch_id, row_num)
    );
    """,
    # 2: predictions, one per scoring row, with the model that made them
    """
    CREATE TABLE predictions (
        batch_id        text NOT NULL,
        row_num         integer NOT NULL,
        predicted_class integer NOT NULL,
        predicted_label text NOT NULL,
        probabilities   double precision[] NOT NULL,
        model_name      text NOT NULL,
        model_version   integer NOT NULL,
        model_alias     text NOT NULL,
        scored_at       timestamptz NOT NULL,
        PRIMARY KEY (batch_id, row_num),
        FOREIGN KEY (batch_id, row_num) REFERENCES scoring_rows(batch_id, row_num)
    );
    CREATE INDEX predictions_scored_at ON predictions (scored_at);
    """,
    # 3: monitoring: quality of aliased versions and input drift
    """
    CREATE TABLE model_evaluations (
        id             bigserial PRIMARY KEY,
        evaluated_at   timestamptz NOT NULL,
        model_name     text NOT NULL,
        model_version  integer NOT NULL,
        model_alias    text NOT NULL,
        data_batch     text NOT NULL,
        n_rows         integer NOT NULL,
        accuracy       double precision NOT NULL,
        f1_macro       double precision NOT NULL,
        log_loss       double precision
    );
    CREATE TABLE feature_drift (
        id              bigserial PRIMARY KEY,
        evaluated_at    timestamptz NOT NULL,
        feature         text NOT NULL,
        psi             double precision NOT NULL,
        reference_rows  integer NOT NULL,
        current_rows    integer NOT NULL
    );
    """,
    # 4: tag watcher: last seen registry state and the history of its changes
    """
    CREATE TABLE registry_state (
        model_name  text NOT NULL,
        kind        text NOT NULL CHECK (kind IN ('alias', 'tag')),
        key         text NOT NULL,
        value       text NOT NULL,
        PRIMARY KEY (model_name, kind, key)
    );
    CREATE TABLE registry_events (
        id          bigserial PRIMARY KEY,
        observed_at timestamptz NOT NULL DEFAULT now(),
        model_name  text NOT NULL,
        kind        text NOT NULL CHECK (kind IN ('alias', 'tag')),
        key         text NOT NULL,
        old_value   text,
        new_value   text
    );
    """,
    # 5: drift figures carry the threshold they were judged by (it depends on the row counts)
    """
    ALTER TABLE feature_drift ADD COLUMN threshold double precision;
    ALTER TABLE feature_drift ADD COLUMN drifted boolean;
    """,
    # 6: an evaluation names the batches it stands on and the fit window they follow
    """
    ALTER TABLE model_evaluations ADD COLUMN data_batches text[];
    ALTER TABLE model_evaluations ADD COLUMN fit_through timestamptz;
    """,
    # 7: one row per recorded evaluation: a rerun on the same versions and data is a no-op
    """
    CREATE TABLE monitoring_runs (
        evaluation_key text PRIMARY KEY,
        evaluated_at   timestamptz NOT NULL,
        mlflow_run_id  text NOT NULL
    );
    """,
)


def connect(url: str) -> psycopg.Connection:
    return psycopg.connect(url, connect_timeout=10)


def migrate(url: str) -> int:
    """Apply the migrations not yet applied; return how many ran."""
    with connect(url) as conn:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        row = conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
        current = row[0] if row else 0
        applied = 0
        for version, sql in enumerate(MIGRATIONS, start=1):
            if version <= current:
                continue
            conn.execute(sql)
            conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (version,))
            applied += 1
        return applied
