"""bench/batch_inference.py's quick mode (through run_all.py) end to end: run_inference()
scores the benchmark's batch exactly (the script exits non-zero otherwise) and the floor
writes as many rows; both timings and the ratio reach the JSON. The ratio is printed,
not asserted."""

from __future__ import annotations


def test_the_quick_batch_inference_benchmark_measures_ours_and_the_floor(quick):
    result, printed = quick.result("batch_inference"), quick.printed
    assert result["rows"] == 5000 and len(result["rounds"]) == 1
    assert result["ours_rows_per_s"] > 0 and result["floor_rows_per_s"] > 0
    assert result["model_load_s"] > 0
    assert "ours takes" in printed
