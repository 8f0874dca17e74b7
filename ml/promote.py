"""Point a registry alias at a model version: the step a person does in the MLflow UI.

    python -m ml.promote --alias Production --version 3
    python -m ml.promote --alias Production --from-alias candidate

Unknown versions and unset source aliases are refused with a message; nothing changes.
"""

from __future__ import annotations

import argparse
import sys

from mlflow.exceptions import MlflowException

from ml import registry
from ml.config import settings


class PromotionError(ValueError):
    pass


def promote(
    alias: str,
    version: int | None = None,
    from_alias: str | None = None,
    model_name: str | None = None,
    tracking_uri: str | None = None,
) -> int:
    """Set ``alias`` to ``version`` (or to the version behind ``from_alias``); return it."""
    cfg = settings()
    name = model_name or cfg.model_name
    client = registry.client(tracking_uri or cfg.tracking_uri)
    if (version is None) == (from_alias is None):
        raise PromotionError("give exactly one of --version or --from-alias")
    if from_alias is not None:
        try:
            version = registry.version_for_alias(client, name, from_alias)
        except registry.AliasNotSetError as exc:
            raise PromotionError(str(exc)) from exc
    assert version is not None
    try:
        client.get_model_version(name, str(version))
    except MlflowException as exc:
        known = sorted(int(v.version) for v in client.search_model_versions(f"name='{name}'"))
        raise PromotionError(
            f"registered model '{name}' has no version {version}; known versions: {known or 'none'}"
        ) from exc
    client.set_registered_model_alias(name, alias, str(version))
    return version


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ml.promote",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--alias",
        default=settings().serving_alias,
        help="alias to set (default: MLOPS_MODEL_ALIAS or Production)",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--version", type=int, help="model version number to promote")
    source.add_argument("--from-alias", help="promote the version behind this alias")
    parser.add_argument("--model", help="registered model name (default: MLOPS_MODEL_NAME)")
    args = parser.parse_args(argv)
    try:
        version = promote(args.alias, args.version, args.from_alias, args.model)
    except PromotionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"alias '{args.alias}' of '{args.model or settings().model_name}' -> version {version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
