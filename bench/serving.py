"""Online serving: our model server against `mlflow models serve`, side by side.

The same registered versions (a linear model and a 100-tree forest), on
127.0.0.1 only, loaded by closed-loop wrk clients at several concurrencies with
1-row and 100-row dataframe_split payloads. Prints a table of requests/s,
p50/p95/p99 and errors with ours/theirs ratios, the in-process predict floor,
and each server's worker memory; writes the same as JSON.

    .venv/bin/python bench/serving.py            # the full run (minutes)
    .venv/bin/python bench/serving.py --quick    # seconds per cell: proves it works
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import requests  # noqa: E402

from bench.stack import RESULTS, Trained, trained_stack, write_result  # noqa: E402
from ml import data  # noqa: E402
from ops.footprint import rollup_kb  # noqa: E402
from tests.harness import (  # noqa: E402
    VENV_BIN,
    free_port,
    model_server,
    stop_process,
    wait_for,
)

# wrk script: POST the body file; print the latency percentiles as JSON at the end
WRK_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = assert(io.open(os.getenv("BENCH_BODY"), "r"))
wrk.body = f:read("*a")
f:close()
function done(summary, latency, requests)
  io.write(string.format(
    'BENCH {"requests": %d, "seconds": %f, "p50": %f, "p95": %f, "p99": %f, '
    .. '"non2xx": %d, "errors": %d}\\n',
    summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1e3, latency:percentile(95) / 1e3, latency:percentile(99) / 1e3,
    summary.errors.status, summary.errors.connect + summary.errors.read
      + summary.errors.write + summary.errors.timeout))
end
"""


@dataclass
class Cell:
    server: str
    model: str
    rows: int
    concurrency: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int


def payload(rows: int) -> dict:
    rng = np.random.default_rng(0)
    base = np.array([[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5]])
    table = base[rng.integers(0, len(base), rows)] + rng.normal(0, 0.1, (rows, 4))
    return {"dataframe_split": {"columns": list(data.FEATURES), "data": table.round(2).tolist()}}


def wrk(url: str, body: Path, concurrency: int, seconds: int, lua: Path) -> dict:
    out = subprocess.run(
        ["wrk", "-t", str(min(concurrency, 2)), "-c", str(concurrency), "-d", f"{seconds}s",
         "-s", str(lua), url],
        env={**os.environ, "BENCH_BODY": str(body)}, capture_output=True, text=True,
        check=True, timeout=seconds + 60,
    ).stdout  # fmt: skip
    line = next(raw for raw in out.splitlines() if raw.startswith("BENCH "))
    return json.loads(line.removeprefix("BENCH "))


def descendants(pid: int) -> list[int]:
    children = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True,
                              text=True, check=False).stdout.split()  # fmt: skip
    return [p for child in map(int, children) for p in (child, *descendants(child))]


def memory_mb(pid: int) -> tuple[list[float], list[float]]:
    """RSS and PSS of every process under a server's master (workers, supervisors). RSS
    counts the pages a forked worker shares with its master in full; PSS splits them."""
    sizes = [rollup_kb(str(child)) for child in descendants(pid)]
    return [round(r / 1024, 1) for _, r in sizes], [round(p / 1024, 1) for p, _ in sizes]


def serving_bin() -> Path:
    """Ours runs as installed on the VM (requirements/model-server.txt, mlflow-skinny) in
    .venv-serving; without it, in this venv, whose full mlflow imports more (FastAPI...)."""
    installed = REPO / ".venv-serving" / "bin"
    if (installed / "gunicorn").exists():
        return installed
    print("no .venv-serving (make venvs): ours runs in this venv, with full mlflow")
    return VENV_BIN


@dataclass
class Plan:
    """The cells of one model: payload sizes x concurrencies, wrk for `seconds` each."""

    model: str
    sizes: tuple[int, ...]
    concurrencies: tuple[int, ...]
    seconds: int
    work: Path
    lua: Path

    def run(self, server: str, base: str) -> list[Cell]:
        cells = []
        for rows in self.sizes:
            body = self.work / f"body-{rows}.json"
            wrk(f"{base}/invocations", body, 4, 1, self.lua)  # warm-up
            for c in self.concurrencies:
                r = wrk(f"{base}/invocations", body, c, self.seconds, self.lua)
                rps = r["requests"] / r["seconds"]
                cells.append(Cell(server, self.model, rows, c, rps, r["p50"], r["p95"], r["p99"],
                                  r["non2xx"] + r["errors"]))  # fmt: skip
        return cells


@contextlib.contextmanager
def anchor(tracking_uri: str, model_uri: str, workers: int) -> Iterator[tuple[str, int]]:
    """`mlflow models serve` of the same version, in this venv (--env-manager local)."""
    port = free_port()
    log = Path(tempfile.mkstemp(prefix="mlflow-serve-", suffix=".log")[1])
    proc = subprocess.Popen(
        [str(VENV_BIN / "mlflow"), "models", "serve", "-m", model_uri, "--env-manager", "local",
         "-h", "127.0.0.1", "-p", str(port), "--workers", str(workers)],
        env={**os.environ, "MLFLOW_TRACKING_URI": tracking_uri,
             "PATH": f"{VENV_BIN}:{os.environ['PATH']}"}, stdout=log.open("w"),
        stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        wait_for(lambda: requests.get(f"http://127.0.0.1:{port}/ping", timeout=2).ok, 120,
                 "mlflow models serve", log)  # fmt: skip
        yield f"http://127.0.0.1:{port}", proc.pid
    finally:
        stop_process(proc)


@contextlib.contextmanager
def ours(env: dict[str, str], bin_dir: Path | None = None) -> Iterator[tuple[str, int]]:
    server = model_server(env, workers=2, bin_dir=bin_dir or serving_bin()).start()
    base = server.health_url.rsplit("/", 1)[0]
    try:
        wait_for(lambda: requests.get(f"{base}/ready", timeout=2).ok, 60, "model server ready",
                 server.log)  # fmt: skip
        yield base, server.proc.pid
    finally:
        server.stop()


def floor_ms(model_uri: str, tracking_uri: str, body: dict, repeat: int) -> float:
    """In-process predict of the same rows (ndarray), the lower bound of any server."""
    import mlflow.sklearn  # noqa: PLC0415

    os.environ["MLFLOW_TRACKING_URI"] = tracking_uri
    model = mlflow.sklearn.load_model(model_uri)
    rows = np.asarray(body["dataframe_split"]["data"], dtype=np.float64)
    model.predict(rows)
    start = time.perf_counter()
    for _ in range(repeat):
        model.predict(rows)
    return (time.perf_counter() - start) / repeat * 1e3


def labels(quick: bool) -> tuple[str, ...]:
    """The models a run needs trained."""
    return ("linear",) if quick else ("linear", "forest")


def run(trained: dict[str, Trained], quick: bool) -> tuple[dict, bool]:
    """Every cell on the given stack; the summary, and whether ours failed no request."""
    seconds = 2 if quick else 15
    concurrencies = (1, 8) if quick else (1, 8, 32)
    sizes = (1,) if quick else (1, 100)
    work = Path(tempfile.mkdtemp(prefix="mlops-bench-"))
    lua = work / "post.lua"
    lua.write_text(WRK_LUA)
    cells: list[Cell] = []
    extra: dict[str, dict] = {}
    rss: dict[str, list[float]] = {}
    pss: dict[str, list[float]] = {}
    bin_dir = serving_bin()
    for label in labels(quick):
        model = trained[label]
        for rows in sizes:
            body = payload(rows)
            (work / f"body-{rows}.json").write_text(json.dumps(body))
            extra[f"{label}/{rows}"] = {
                "floor_ms": floor_ms(model.uri, model.cfg.tracking_uri, body, 200)
            }
        plan = Plan(label, sizes, concurrencies, seconds, work, lua)
        with ours(model.env(), bin_dir) as (base, pid):
            cells += plan.run("ours", base)
            rss[f"ours/{label}"], pss[f"ours/{label}"] = memory_mb(pid)
        for workers in (1, 2):
            with anchor(model.cfg.tracking_uri, model.uri, workers) as (base, pid):
                cells += plan.run(f"mlflow-w{workers}", base)
                key = f"mlflow-w{workers}/{label}"
                rss[key], pss[key] = memory_mb(pid)
    extra["rss_mb"] = rss
    extra["pss_mb"] = pss
    extra["ours_venv"] = bin_dir.parent.name
    report(cells, extra)
    shutil.rmtree(work, ignore_errors=True)
    summary = {"cells": [asdict(c) for c in cells], **extra}
    return summary, not any(c.errors for c in cells if c.server == "ours")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="linear model only, 1 row, c=1 and 8, 2 s a cell"
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "serving.json")
    args = parser.parse_args()
    if not wrk_installed():
        return 2
    with trained_stack(labels(args.quick)) as trained:
        summary, ok = run(trained, args.quick)
    write_result(args.out, summary)
    return 0 if ok else 1


def wrk_installed() -> bool:
    if shutil.which("wrk"):
        return True
    print("wrk is not installed: apt-get install wrk", file=sys.stderr)
    return False


def report(cells: list[Cell], extra: dict) -> None:
    by = {(c.server, c.model, c.rows, c.concurrency): c for c in cells}
    print(f"{'model':7} {'rows':>4} {'c':>3} | {'ours req/s':>10} {'p50':>6} {'p95':>6} {'p99':>6} "
          f"{'err':>4} | {'best anchor':>11} {'req/s':>8} {'p99':>7} | {'x req/s':>7} "
          f"{'p99 ratio':>9}")  # fmt: skip
    for (server, model, rows, c), mine in sorted(by.items()):
        if server != "ours":
            continue
        anchors = [by[k] for k in by if k[0] != "ours" and k[1:] == (model, rows, c)]
        best = max(anchors, key=lambda a: a.rps)
        print(f"{model:7} {rows:>4} {c:>3} | {mine.rps:>10.0f} {mine.p50_ms:>6.1f} "
              f"{mine.p95_ms:>6.1f} {mine.p99_ms:>6.1f} {mine.errors:>4} | {best.server:>11} "
              f"{best.rps:>8.0f} {best.p99_ms:>7.1f} | {mine.rps / best.rps:>7.1f} "
              f"{mine.p99_ms / best.p99_ms:>9.2f}")  # fmt: skip
    for key, value in sorted(extra.items()):
        print(f"{key}: {value}")


if __name__ == "__main__":
    raise SystemExit(main())
