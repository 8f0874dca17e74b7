"""bench/alias_switch.py's quick mode (through run_all.py) end to end: one switch of ours
(the alias moved under load) and one restart of the anchor on the new version. Ours must
lose no request and end up serving only the new version (the script exits non-zero
otherwise); the times are printed, not asserted."""

from __future__ import annotations


def test_the_quick_alias_switch_benchmark_switches_both_servers(quick):
    result, printed = quick.result("alias_switch"), quick.printed
    (mine,), (theirs,) = result["ours"], result["anchor"]
    assert mine["failed"] == 0 and mine["switched"]
    assert mine["served"] == theirs["served"]  # both on the new version
    assert theirs["seconds"] > 0
    assert "mlflow models serve, restarted" in printed  # the side-by-side lines
