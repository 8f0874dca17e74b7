"""Follow a registry alias: poll MLflow, load a moved alias in the background, swap atomically.

Requests read ``holder.current`` once; the swap is a single reference assignment,
so a request sees either the old or the new model, never half of one. An
unreachable registry keeps the loaded model in service and is reported.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from server import metrics
from server.model_loader import LoadedModel

log = logging.getLogger("mlops.model_server")

Resolver = Callable[[], int]
Loader = Callable[[int], LoadedModel]


@dataclass
class ModelHolder:
    name: str
    alias: str
    resolve: Resolver
    load: Loader
    poll_seconds: float = 10.0
    current: LoadedModel | None = None
    registry_reachable: bool = False
    last_check: float | None = None
    last_error: str | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def check_once(self) -> None:
        """One poll: resolve the alias and, if it moved, load and swap."""
        try:
            version = self.resolve()
        except Exception as exc:
            self.registry_reachable = False
            self.last_error = f"registry: {exc}"
            metrics.REGISTRY_REACHABLE.set(0)
            log.warning("cannot resolve %s@%s: %s", self.name, self.alias, exc)
            return
        finally:
            self.last_check = time.time()
        self.registry_reachable = True
        metrics.REGISTRY_REACHABLE.set(1)
        old = self.current
        if old is not None and old.version == version:
            self.last_error = None
            return
        try:
            new = self.load(version)
        except Exception as exc:
            self.last_error = f"load of version {version}: {exc}"
            metrics.RELOAD_FAILURES.inc()
            log.error("loading %s version %s failed: %s", self.name, version, exc)
            return
        self.current = new  # the atomic swap
        self.last_error = None
        metrics.MODEL_LOADED.labels(self.name, str(version), self.alias).set(1)
        metrics.MODEL_READY.set(1)
        if old is not None:
            metrics.MODEL_LOADED.labels(self.name, str(old.version), self.alias).set(0)
            metrics.RELOADS.inc()
        log.info(
            "serving %s version %s (alias %s, was %s)",
            self.name,
            version,
            self.alias,
            old.version if old else "none",
        )

    def _run(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            self.check_once()

    def start(self) -> ModelHolder:
        """Load the model now (a worker takes no request before it has one, unless the
        registry is down), then follow the alias in the background."""
        metrics.MODEL_READY.set(0)
        self.check_once()
        self._thread = threading.Thread(target=self._run, name="alias-follower", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)

    @classmethod
    def for_registry(
        cls, tracking_uri: str, name: str, alias: str, poll_seconds: float = 10.0
    ) -> ModelHolder:
        """A holder that resolves ``name@alias`` in MLflow and loads versions from it."""
        from ml.registry import client, version_for_alias  # noqa: PLC0415
        from server import model_loader  # noqa: PLC0415

        registry = client(tracking_uri)
        return cls(
            name=name,
            alias=alias,
            resolve=lambda: version_for_alias(registry, name, alias),
            load=lambda version: model_loader.load(tracking_uri, name, version, alias),
            poll_seconds=poll_seconds,
        )

    def status(self) -> dict:
        return {
            "registry_reachable": self.registry_reachable,
            "last_check": (
                time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.last_check))
                if self.last_check
                else None
            ),
            "last_error": self.last_error,
            "poll_seconds": self.poll_seconds,
        }
