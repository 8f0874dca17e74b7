"""Tag watcher: record every change of aliases and tags of registered models.

Polls the MLflow registry, compares with the last state it stored in app-db
(so changes made while it was down are still recorded on restart), and for each
change writes a row to ``registry_events``, logs one line and updates gauges on
its own /metrics.

    python -m server.tag_watcher

Environment: MLFLOW_TRACKING_URI, MLOPS_APP_DB_URL, MLOPS_WATCH_POLL_SECONDS (10),
MLOPS_WATCH_BIND (127.0.0.1:8001).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter, Gauge, start_http_server

from ml import db

log = logging.getLogger("mlops.tag_watcher")

Key = tuple[str, str, str]  # (model, kind, key)

ALIAS_VERSION = Gauge(
    "mlops_registry_alias_version", "Version behind each alias", ["model", "alias"]
)
CHANGES = Counter("mlops_registry_changes_total", "Alias and tag changes seen", ["model", "kind"])
POLL_FAILURES = Counter("mlops_tag_watcher_poll_failures_total", "Polls that failed")
LAST_POLL = Gauge("mlops_tag_watcher_last_success_timestamp_seconds", "Last successful poll")


@dataclass(frozen=True)
class Change:
    model: str
    kind: str
    key: str
    old: str | None
    new: str | None


def registry_snapshot(client: Any) -> dict[Key, str]:
    """Every alias and tag of every registered model."""
    state: dict[Key, str] = {}
    token = None
    while True:
        page = client.search_registered_models(max_results=100, page_token=token)
        for model in page:
            for alias, version in (model.aliases or {}).items():
                state[(model.name, "alias", alias)] = str(version)
            for key, value in (model.tags or {}).items():
                state[(model.name, "tag", key)] = str(value)
        token = page.token
        if not token:
            return state


def diff(old: dict[Key, str], new: dict[Key, str]) -> list[Change]:
    changes = [Change(*k, old.get(k), v) for k, v in new.items() if old.get(k) != v]
    changes += [Change(*k, v, None) for k, v in old.items() if k not in new]
    return sorted(changes, key=lambda c: (c.model, c.kind, c.key))


class TagWatcher:
    def __init__(self, client: Any, app_db_url: str) -> None:
        self.client = client
        self.app_db_url = app_db_url
        db.migrate(app_db_url)

    def _stored(self, conn: Any) -> dict[Key, str]:
        rows = conn.execute("SELECT model_name, kind, key, value FROM registry_state").fetchall()
        return {(m, k, key): v for m, k, key, v in rows}

    def poll_once(self) -> list[Change]:
        current = registry_snapshot(self.client)
        with db.connect(self.app_db_url) as conn:
            conn.execute("LOCK TABLE registry_state IN EXCLUSIVE MODE")
            changes = diff(self._stored(conn), current)
            for c in changes:
                conn.execute(
                    "INSERT INTO registry_events (model_name, kind, key, old_value, new_value)"
                    " VALUES (%s, %s, %s, %s, %s)",
                    (c.model, c.kind, c.key, c.old, c.new),
                )
                if c.new is None:
                    conn.execute(
                        "DELETE FROM registry_state WHERE model_name = %s AND kind = %s"
                        " AND key = %s",
                        (c.model, c.kind, c.key),
                    )
                else:
                    conn.execute(
                        "INSERT INTO registry_state (model_name, kind, key, value)"
                        " VALUES (%s, %s, %s, %s) ON CONFLICT (model_name, kind, key)"
                        " DO UPDATE SET value = EXCLUDED.value",
                        (c.model, c.kind, c.key, c.new),
                    )
        for c in changes:
            CHANGES.labels(c.model, c.kind).inc()
            log.info(
                "registry change: model=%s %s=%s %s -> %s", c.model, c.kind, c.key, c.old, c.new
            )
            if c.kind == "alias" and c.new is None:
                # the alias may predate this process (state from app-db): no gauge to drop
                with contextlib.suppress(KeyError):
                    ALIAS_VERSION.remove(c.model, c.key)
        for (model, kind, key), value in current.items():
            if kind == "alias":
                ALIAS_VERSION.labels(model, key).set(float(value))
        LAST_POLL.set_to_current_time()
        return changes


def main() -> None:
    import server  # noqa: F401, PLC0415 - sets MLflow client timeouts
    from ml.config import settings  # noqa: PLC0415
    from ml.registry import client  # noqa: PLC0415

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    cfg = settings()
    poll = float(os.environ.get("MLOPS_WATCH_POLL_SECONDS", "10"))
    host, _, port = os.environ.get("MLOPS_WATCH_BIND", "127.0.0.1:8001").rpartition(":")
    start_http_server(int(port), addr=host)
    watcher = TagWatcher(client(cfg.tracking_uri), cfg.app_db_url)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    log.info("watching %s every %ss, metrics on %s:%s", cfg.tracking_uri, poll, host, port)
    while not stop.is_set():
        try:
            watcher.poll_once()
        except Exception:
            POLL_FAILURES.inc()
            log.exception("poll failed; retrying in %ss", poll)
        stop.wait(poll)


if __name__ == "__main__":
    main()
