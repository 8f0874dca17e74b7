"""bench/serving.py's quick mode (through run_all.py) end to end: it must produce every
cell of the table (ours and both anchors at each concurrency, for the quick mode's
linear model), the floor and the memory of each server, with no failed request of any
server (a ratio against an anchor that fails requests would mean nothing).
The ratios it prints are measurements, not assertions: the full run and its table are in
the README."""

from __future__ import annotations

SERVERS = {"ours", "mlflow-w1", "mlflow-w2"}


def test_the_quick_serving_benchmark_fills_its_table(quick):
    result, printed = quick.result("serving"), quick.printed
    cells = {(c["server"], c["model"], c["rows"], c["concurrency"]): c for c in result["cells"]}
    for model in ("linear",):  # the quick mode's one model
        for concurrency in (1, 8):
            for server in SERVERS:
                cell = cells[(server, model, 1, concurrency)]
                assert cell["rps"] > 0 and cell["p99_ms"] >= cell["p50_ms"] > 0, cell
                # an anchor that fails requests makes no baseline: its errors count too
                assert cell["errors"] == 0, cell
        assert result[f"{model}/1"]["floor_ms"] > 0
        for memory in ("rss_mb", "pss_mb"):
            assert {f"{server}/{model}" for server in SERVERS} <= set(result[memory])
    assert result["ours_venv"] == ".venv-serving"  # ours as installed on the VM
    assert "x req/s" in printed  # the ratio table was printed
