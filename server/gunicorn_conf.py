"""gunicorn settings for the model server (overridable by environment)."""

import os
import shutil
from pathlib import Path

bind = os.environ.get("MLOPS_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("MLOPS_WORKERS", "2"))
worker_class = "sync"
timeout = 30
graceful_timeout = 20
# no preload: each worker imports the app after the fork and runs its own alias follower
preload_app = False
accesslog = None
# gunicornc's control socket is unused (systemd manages the server); left on, it
# logs an error at every start, since the service user has no home to put it in
control_socket_disable = True


def on_starting(server) -> None:  # noqa: ANN001
    """Start from empty metric files: stale ones from a previous run would be summed."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        shutil.rmtree(directory, ignore_errors=True)
        Path(directory).mkdir(parents=True, exist_ok=True)


def child_exit(server, worker) -> None:  # noqa: ANN001
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess  # noqa: PLC0415

        multiprocess.mark_process_dead(worker.pid)
