"""Train candidate models and register them in MLflow.

``train_candidate()`` trains several baseline families on the labelled rows in
app-db with a fixed seed, fit on the older batches and tested on the newest ones
(``ml.evaluation.time_split``: no test row is a row the models were fit on), logs
each to MLflow (params, metrics with the rows they stand on, signature, input
example), registers each as a version of one registered model, tags the versions
with their figures and their fit window (``fit_through``, which monitoring reads),
and points the ``candidate`` alias at the best one (highest macro F1 on the test
batches, then lowest log loss). It never touches the serving
alias: promotion is a person's decision (``python -m ml.promote``).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from ml import data, evaluation, registry
from ml.config import Settings, settings
from ml.db import FEATURES
from ml.metrics import classification_metrics
from ml.monitoring import evaluate_models

__all__ = [
    "FAMILIES",
    "ArtifactStoreError",
    "CandidateVersion",
    "TrainingResult",
    "evaluate_models",
    "train_candidate",
]

SEED = 42


class ArtifactStoreError(RuntimeError):
    """A model could not be stored through MLflow (its object store is down, most often)."""


def _families(seed: int) -> dict[str, Callable[[], Any]]:
    return {
        "logistic_regression": lambda: make_pipeline(
            StandardScaler(), LogisticRegression(max_iter=1000, random_state=seed)
        ),
        "random_forest": lambda: RandomForestClassifier(
            n_estimators=100, random_state=seed, n_jobs=1
        ),
        "gradient_boosting": lambda: GradientBoostingClassifier(random_state=seed),
        # SVC(probability=True) is deprecated in scikit-learn 1.9: calibrate explicitly
        "svc": lambda: make_pipeline(
            StandardScaler(),
            CalibratedClassifierCV(SVC(random_state=seed), ensemble=False),
        ),
        "knn": lambda: make_pipeline(StandardScaler(), KNeighborsClassifier(n_neighbors=5)),
    }


FAMILIES: tuple[str, ...] = tuple(_families(SEED))


@dataclass(frozen=True)
class CandidateVersion:
    family: str
    version: int
    run_id: str
    metrics: dict[str, float]


@dataclass(frozen=True)
class TrainingResult:
    model_name: str
    versions: list[CandidateVersion]
    best: CandidateVersion
    fit_rows: int = 0
    test_rows: int = 0  # every figure of the versions stands on these rows
    test_batches: tuple[str, ...] = ()


def _params(model: Any) -> dict[str, str]:
    """Flat, loggable hyper-parameters (the estimator's own, not nested objects)."""
    estimator = model.steps[-1][1] if isinstance(model, Pipeline) else model
    return {k: str(v) for k, v in estimator.get_params(deep=False).items()}


def _trusted_types(model: Any) -> list[str]:
    """The scikit-learn/numpy types skops must be told to trust for our own model.

    skops refuses to load unknown types (e.g. sklearn.tree._tree.Tree) unless the
    logger names them. We only trust types from the libraries we trained with.
    """
    import skops.io  # noqa: PLC0415

    untrusted = skops.io.get_untrusted_types(data=skops.io.dumps(model))
    return sorted(t for t in untrusted if t.split(".")[0] in {"sklearn", "numpy", "scipy"})


def _rank_key(candidate: CandidateVersion) -> tuple[float, float]:
    return (candidate.metrics["f1_macro"], -candidate.metrics.get("log_loss", np.inf))


def _data_key(split: evaluation.Split, seed: int) -> str:
    """What a training run's figures depend on besides the family: the batches on each
    side of the split (ids and rows) and the seed."""
    parts = [
        split.kind,
        str(seed),
        ",".join(split.fit_batches),
        str(len(split.y_fit)),
        ",".join(split.test_batches),
        str(len(split.y_test)),
    ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def _earlier_attempt(
    client: Any, experiment_id: str, model_name: str, key: str
) -> tuple[str | None, CandidateVersion | None]:
    """An earlier attempt at the same family on the same data: its run, and the version it
    registered if it got that far (a retry of a task that failed midway)."""
    runs = registry.runs_tagged(client, experiment_id, "training_key", key)
    for run in runs:
        found = client.search_model_versions(
            f"name = '{model_name}' and run_id = '{run.info.run_id}'"
        )
        for mv in found:
            if mv.tags.get("training_key") == key:
                names = ("accuracy", "f1_macro", "log_loss")
                figures = {k: float(mv.tags[k]) for k in names if k in mv.tags}
                return run.info.run_id, CandidateVersion(
                    mv.tags["family"], int(mv.version), run.info.run_id, figures
                )
    return (runs[0].info.run_id if runs else None), None


def train_candidate(
    families: tuple[str, ...] | None = None,
    cfg: Settings | None = None,
    seed: int = SEED,
    attempt: str | None = None,
) -> TrainingResult:
    """Train, register and rank the families (see the module docstring).

    ``attempt`` names one training attempt across its retries (the DAG passes its run
    id): a retry after a failure midway keeps the versions the attempt registered on
    the same data and resumes the run of the family that failed, so nothing is
    registered twice and no run is left behind. Without it every call trains anew.
    """
    import mlflow  # noqa: PLC0415
    import mlflow.sklearn  # noqa: PLC0415
    from mlflow.models import infer_signature  # noqa: PLC0415

    cfg = cfg or settings()
    builders = _families(seed)
    chosen = families or FAMILIES
    unknown = sorted(set(chosen) - set(builders))
    if unknown:
        raise ValueError(f"unknown model families {unknown}; choose from {sorted(builders)}")

    batches = data.read_labelled_batches(cfg.app_db_url)
    rows = sum(len(b.labels) for b in batches)
    labels = np.unique(np.concatenate([b.labels for b in batches])) if batches else []
    if len(labels) < 2 or rows < 20:
        raise ValueError(f"not enough labelled data to train ({rows} rows): run the data DAG first")
    split = evaluation.time_split(batches, data.REFERENCE_BATCH, seed)
    x_train, y_train, x_test, y_test = split.x_fit, split.y_fit, split.x_test, split.y_test
    window = {
        "split": split.kind,
        "fit_through": split.fit_through.isoformat(),
        "fit_rows": str(len(y_train)),
        "fit_batches": str(len(split.fit_batches)),
        "test_rows": str(len(y_test)),
        "test_batches": ",".join(split.test_batches)[:1000],
        "test_rows_seen_in_fit": str(split.test_rows_seen_in_fit),
    }
    example = pd.DataFrame(x_train[:5], columns=list(FEATURES))

    mlflow.set_tracking_uri(cfg.tracking_uri)
    experiment = mlflow.set_experiment(cfg.training_experiment)
    client = registry.client(cfg.tracking_uri)
    data_key = _data_key(split, seed)
    versions: list[CandidateVersion] = []
    for family in chosen:
        key = hashlib.sha256(
            f"{cfg.model_name}|{family}|{data_key}|{attempt or uuid.uuid4()}".encode()
        ).hexdigest()[:20]
        run_id, done = (
            _earlier_attempt(client, experiment.experiment_id, cfg.model_name, key)
            if attempt
            else (None, None)
        )
        if done is not None:  # a retry: this family was registered on this data already
            versions.append(done)
            continue
        model = builders[family]()
        model.fit(x_train, y_train)
        figures = classification_metrics(model, x_test, y_test)
        signature = infer_signature(
            pd.DataFrame(x_test, columns=list(FEATURES)), model.predict(x_test)
        )
        # an earlier attempt's run that registered nothing is resumed, not left behind
        with mlflow.start_run(run_id=run_id, run_name=None if run_id else family) as run:
            mlflow.set_tags({"family": family, "seed": str(seed), "training_key": key, **window})
            mlflow.log_params({**_params(model), "train_rows": len(y_train)})
            mlflow.log_metrics({**figures, "test_rows": len(y_test)})
            # the version is created with its tags in one request (one tag call each
            # was most of a training run's requests to MLflow)
            tags = {
                "family": family,
                "run_id": run.info.run_id,
                "training_key": key,
                **window,
                **{k: f"{v:.6f}" for k, v in figures.items()},
            }
            try:
                info = mlflow.sklearn.log_model(
                    model,
                    name="model",
                    signature=signature,
                    input_example=example,
                    skops_trusted_types=_trusted_types(model),
                )
                registered = mlflow.register_model(info.model_uri, cfg.model_name, tags=tags)
            except Exception as exc:
                # a version is registered only after its artifacts are stored
                raise ArtifactStoreError(
                    f"storing the {family} model through MLflow failed "
                    f"({type(exc).__name__}: {exc}). Is the object store up? No version "
                    "was registered for it, so the task can be retried as it is: the "
                    "families registered before it are kept, not trained again."
                ) from exc
        version = int(registered.version)
        versions.append(CandidateVersion(family, version, run.info.run_id, figures))

    best = max(versions, key=_rank_key)
    client.set_registered_model_alias(cfg.model_name, cfg.candidate_alias, str(best.version))
    return TrainingResult(
        cfg.model_name, versions, best, len(y_train), len(y_test), split.test_batches
    )
