"""Alias switch under load: our model server follows `Production` by itself;
`mlflow models serve` (the anchor) serves one version and must be restarted
with the new one. Both under the same closed-loop load, in the same run:

- ours: the alias is moved in the registry; measured is the time until every
  response carries the new version, and the failed requests meanwhile;
- anchor: the server is restarted on the new version (what a user of it does);
  measured is the time until it answers again, and the failed requests.

    .venv/bin/python bench/alias_switch.py           # 4 clients, 3 switches each
    .venv/bin/python bench/alias_switch.py --quick   # 1 switch each
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import requests  # noqa: E402

from bench.serving import anchor, ours, payload  # noqa: E402
from bench.stack import RESULTS, Trained, trained_stack, write_result  # noqa: E402
from ml import promote, training  # noqa: E402

CLIENTS = 4
# the VM's default (model_server_alias_poll_seconds): the switch waits for the next poll
POLL_SECONDS = 10


@dataclass
class Load:
    """Closed-loop clients on target["url"] (repointed when a server is replaced);
    every answer with its time and the model version it names, if any."""

    target: dict[str, str]
    answers: list[tuple[float, bool, int | None]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def _client(self) -> None:
        body = payload(1)
        with requests.Session() as session:
            while not self._stop.is_set():
                try:
                    got = session.post(self.target["url"], json=body, timeout=10)
                    ok = got.status_code == 200
                    version = got.json().get("model", {}).get("version") if ok else None
                except (requests.RequestException, ValueError, AttributeError):
                    ok, version = False, None
                self.answers.append((time.monotonic(), ok, version))

    def __enter__(self) -> Load:
        self._threads = [threading.Thread(target=self._client) for _ in range(CLIENTS)]
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=15)

    def failed(self, after: float) -> int:
        return sum(1 for at, ok, _ in self.answers if at >= after and not ok)


def switch_ours(base: str, model: Trained, versions: tuple[int, int], switches: int) -> list[dict]:
    """Move the alias back and forth; time until no answer carries the old version."""
    results = []
    with Load({"url": f"{base}/invocations"}) as load:
        time.sleep(2)
        for i in range(switches):
            old, new = versions if i % 2 == 0 else versions[::-1]
            moved = time.monotonic()
            promote.promote(
                "Production", version=new, model_name=model.cfg.model_name,
                tracking_uri=model.cfg.tracking_uri,
            )  # fmt: skip
            deadline = moved + 4 * POLL_SECONDS
            switched = False
            while not switched and time.monotonic() < deadline:
                time.sleep(1)
                recent = [v for at, ok, v in load.answers if ok and at > time.monotonic() - 1]
                switched = bool(recent) and all(v == new for v in recent)
            last_old = max((at for at, ok, v in load.answers if ok and v == old), default=moved)
            results.append(
                {"seconds": max(0.0, last_old - moved), "failed": load.failed(moved),
                 "served": new, "switched": switched}
            )  # fmt: skip
    return results


def switch_anchor(model: Trained, versions: tuple[int, int], switches: int) -> list[dict]:
    """Restart `mlflow models serve` on the other version; time until it answers again."""
    results = []
    target = {"url": ""}

    def serve(version: int) -> contextlib.AbstractContextManager:
        return anchor(model.cfg.tracking_uri, f"models:/{model.cfg.model_name}/{version}", 2)

    with contextlib.ExitStack() as server:
        base, _ = server.enter_context(serve(versions[0]))
        target["url"] = f"{base}/invocations"
        with Load(target) as load:
            time.sleep(2)
            for i in range(switches):
                new = versions[(i + 1) % 2]
                moved = time.monotonic()
                server.close()  # the restart: stop, then start on the new version
                base, _ = server.enter_context(serve(new))
                target["url"] = f"{base}/invocations"
                back = time.monotonic()
                time.sleep(2)
                results.append(
                    {"seconds": back - moved, "failed": load.failed(moved), "served": new}
                )
    return results


def run(trained: dict[str, Trained], quick: bool) -> tuple[dict, bool]:
    """Switches of ours and of the anchor on the given stack's linear model (it trains
    a second version and leaves `Production` on one of the two); the summary, and
    whether ours lost no request and always switched."""
    switches = 1 if quick else 3
    model = trained["linear"]
    second = training.train_candidate(families=("logistic_regression",), cfg=model.cfg)
    versions = (model.version, second.best.version)
    env = {**model.env(), "MLOPS_ALIAS_POLL_SECONDS": str(POLL_SECONDS)}
    with ours(env) as (base, _):
        mine = switch_ours(base, model, versions, switches)
    theirs = switch_anchor(model, versions, switches)
    summary = {"poll_seconds": POLL_SECONDS, "clients": CLIENTS, "ours": mine, "anchor": theirs}
    for name, runs in (("ours", mine), ("mlflow models serve, restarted", theirs)):
        print(
            f"{name:32}: switch {statistics.median(r['seconds'] for r in runs):5.1f} s (median of "
            f"{len(runs)}), failed requests {sum(r['failed'] for r in runs)}"
        )
    print(f"ours polls the alias every {POLL_SECONDS} s; the anchor cannot follow an alias")
    return summary, not any(r["failed"] or not r["switched"] for r in mine)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one switch each")
    parser.add_argument("--out", type=Path, default=RESULTS / "alias_switch.json")
    args = parser.parse_args()
    with trained_stack(("linear",)) as trained:
        summary, ok = run(trained, args.quick)
    write_result(args.out, summary)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
