"""Follow a registry alias: poll MLflow, load a moved alias in the background, swap atomically.

Requests read ``holder.current`` once; the swap is a single reference assignment,
so a request sees either the old or the new model, never half of one.

Three states that look alike from outside are told apart (``/ready``, metrics):

- the registry is unreachable: the loaded model stays in service
  (``mlops_registry_reachable`` 0);
- the registry answers that the alias is not set (a fresh install, or an alias a
  person removed): nothing is served, and a model served before is dropped, since
  removing the alias is how a person stops serving it (``mlops_model_alias_set`` 0);
- the registry is unreachable when a worker starts: with a local cache
  (server.model_cache), the version last served for the alias is loaded from it,
  and ``/ready`` says so (``model.source`` "local cache");
- the version behind the alias fails to load, or fails on its own input example:
  the previous version stays in service, ``mlops_model_reload_failures_total``
  counts it, and the same version is tried again only after a back-off that
  doubles from one poll interval up to ``MAX_BACKOFF_SECONDS``.
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

MAX_BACKOFF_SECONDS = 600.0

Resolver = Callable[[], int]
Loader = Callable[[int], LoadedModel]
Fallback = Callable[[], LoadedModel | None]


@dataclass
class ModelHolder:
    name: str
    alias: str
    resolve: Resolver
    load: Loader
    poll_seconds: float = 10.0
    current: LoadedModel | None = None
    # the locally cached version to serve while the registry is unreachable, if any
    fallback: Fallback | None = None
    registry_reachable: bool = False
    alias_set: bool | None = None  # None until the registry has answered once
    last_check: float | None = None
    last_error: str | None = None
    # the version that failed to load, how often in a row, and when it may be tried again
    failed_version: int | None = None
    failures: int = 0
    retry_at: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def check_once(self) -> None:
        """One poll: resolve the alias and, if it moved, load and swap."""
        try:
            version = self.resolve()
        except LookupError as exc:  # ml.registry.AliasNotSetError: the registry's answer
            self.last_check = time.time()
            self._reachable(True)
            self._alias_not_set(exc)
            return
        except Exception as exc:
            self.last_check = time.time()
            self._reachable(False)
            self.last_error = f"registry: {exc}"
            log.warning("cannot resolve %s@%s: %s", self.name, self.alias, exc)
            if self.current is None and self.fallback is not None:
                self._from_cache()
            return
        self.last_check = time.time()
        self._reachable(True)
        self.alias_set = True
        metrics.ALIAS_SET.set(1)
        old = self.current
        if old is not None and old.version == version:
            self.last_error = None
            self.failed_version, self.failures = None, 0  # the alias left a failed version
            return
        if version == self.failed_version and time.monotonic() < self.retry_at:
            return  # backing off: last_error still says why it failed
        try:
            new = self.load(version)
        except Exception as exc:
            self._load_failed(version, exc)
            return
        self.failed_version, self.failures = None, 0
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

    def _from_cache(self) -> None:
        try:
            cached = self.fallback()
        except Exception as exc:  # a damaged copy: nothing to serve until the registry is back
            log.error("the cached version of %s@%s does not load: %s", self.name, self.alias, exc)
            return
        if cached is None:
            return
        self.current = cached
        metrics.MODEL_LOADED.labels(self.name, str(cached.version), self.alias).set(1)
        metrics.MODEL_READY.set(1)
        log.warning("registry unreachable: serving %s version %s from the local cache",
                    self.name, cached.version)  # fmt: skip

    def _reachable(self, reachable: bool) -> None:
        self.registry_reachable = reachable
        metrics.REGISTRY_REACHABLE.set(1 if reachable else 0)

    def _alias_not_set(self, exc: Exception) -> None:
        self.alias_set = False
        metrics.ALIAS_SET.set(0)
        self.last_error = f"alias not set: {exc}"
        old, self.current = self.current, None
        if old is not None:
            metrics.MODEL_LOADED.labels(self.name, str(old.version), self.alias).set(0)
            metrics.MODEL_READY.set(0)
            log.warning(
                "alias %s of %s was removed: version %s is no longer served",
                self.alias,
                self.name,
                old.version,
            )

    def _load_failed(self, version: int, exc: Exception) -> None:
        self.failures = self.failures + 1 if version == self.failed_version else 1
        self.failed_version = version
        delay = min(self.poll_seconds * 2 ** (self.failures - 1), MAX_BACKOFF_SECONDS)
        self.retry_at = time.monotonic() + delay
        kept = f"; still serving version {self.current.version}" if self.current else ""
        self.last_error = f"load of version {version}: {exc}{kept}"
        metrics.RELOAD_FAILURES.inc()
        log.error(
            "loading %s version %s failed (%d in a row, next try in %.0fs)%s: %s",
            self.name,
            version,
            self.failures,
            delay,
            kept,
            exc,
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
        cls,
        tracking_uri: str,
        name: str,
        alias: str,
        poll_seconds: float = 10.0,
        cache_dir: str | None = None,
    ) -> ModelHolder:
        """A holder that resolves ``name@alias`` in MLflow and loads versions from it;
        with ``cache_dir``, through a local copy it also serves when MLflow is down."""
        from pathlib import Path  # noqa: PLC0415

        from ml.registry import client, version_for_alias  # noqa: PLC0415
        from server import model_loader  # noqa: PLC0415
        from server.model_cache import ModelCache  # noqa: PLC0415

        registry = client(tracking_uri)
        cache = ModelCache(Path(cache_dir)) if cache_dir else None
        return cls(
            name=name,
            alias=alias,
            resolve=lambda: version_for_alias(registry, name, alias),
            load=lambda version: model_loader.load(tracking_uri, name, version, alias, cache),
            poll_seconds=poll_seconds,
            fallback=(lambda: model_loader.load_cached(cache, name, alias)) if cache else None,
        )

    def state(self) -> str:
        """serving, alias-not-set, registry-unreachable, load-failed or starting."""
        if self.alias_set is False:
            return "alias-not-set"
        if self.current is not None:
            return "serving"
        if self.last_check is not None and not self.registry_reachable:
            return "registry-unreachable"
        return "load-failed" if self.failed_version is not None else "starting"

    def status(self) -> dict:
        return {
            "state": self.state(),
            "registry_reachable": self.registry_reachable,
            "alias_set": self.alias_set,
            "failed_version": self.failed_version,
            "last_check": (
                time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.last_check))
                if self.last_check
                else None
            ),
            "last_error": self.last_error,
            "poll_seconds": self.poll_seconds,
        }
