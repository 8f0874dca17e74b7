"""Small helpers over the MLflow model registry (aliases, versions, loading)."""

from __future__ import annotations

from typing import Any

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException


class AliasNotSetError(LookupError):
    """The registered model has no version behind the requested alias."""


def client(tracking_uri: str) -> MlflowClient:
    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def version_for_alias(mlflow_client: MlflowClient, model_name: str, alias: str) -> int:
    """The version number behind ``alias``; AliasNotSetError with a hint if none."""
    try:
        mv = mlflow_client.get_model_version_by_alias(model_name, alias)
    except MlflowException as exc:
        if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            raise AliasNotSetError(
                f"no version of registered model '{model_name}' has alias '{alias}'; "
                f"promote one first: python -m ml.promote --alias {alias} --from-alias candidate"
            ) from exc
        raise
    return int(mv.version)


def aliases(mlflow_client: MlflowClient, model_name: str) -> dict[str, int]:
    """Every alias of the registered model and the version it points at."""
    model = mlflow_client.get_registered_model(model_name)
    return {alias: int(version) for alias, version in model.aliases.items()}


def runs_tagged(mlflow_client: MlflowClient, experiment_id: str, key: str, value: str) -> list:
    """The runs of an experiment whose tag ``key`` is ``value``: how a retry finds the run
    of the try that failed (training and monitoring tag their runs with what they stand on)."""
    return list(mlflow_client.search_runs([experiment_id], filter_string=f"tags.{key} = '{value}'"))


def load_sklearn(tracking_uri: str, model_name: str, version: int) -> Any:
    """Load a registered sklearn model version through the tracking server's artifact proxy."""
    import mlflow.sklearn  # noqa: PLC0415 - heavy import, only where a model is loaded

    mlflow.set_tracking_uri(tracking_uri)
    return mlflow.sklearn.load_model(f"models:/{model_name}/{version}")
