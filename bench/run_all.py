"""Every benchmark on one throwaway stack: serving, batch inference, then the
alias switch (last, because it moves `Production`). Each prints its table and
writes its JSON into --out-dir, as its own script does; starting and training
the stack once instead of three times saves a minute or more.

    .venv/bin/python bench/run_all.py            # the full runs (tens of minutes)
    .venv/bin/python bench/run_all.py --quick    # each quick mode (a few minutes)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench import alias_switch, batch_inference, serving  # noqa: E402
from bench.stack import RESULTS, trained_stack, write_result  # noqa: E402

BENCHMARKS = {"serving": serving, "batch_inference": batch_inference, "alias_switch": alias_switch}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="each benchmark's quick mode")
    parser.add_argument("--out-dir", type=Path, default=RESULTS)
    args = parser.parse_args()
    if not serving.wrk_installed():
        return 2
    failed = []
    with trained_stack(serving.labels(args.quick)) as trained:
        for name, benchmark in BENCHMARKS.items():
            print(f"\n== {name}", flush=True)
            summary, ok = benchmark.run(trained, args.quick)
            write_result(args.out_dir / f"{name}.json", summary)
            if not ok:
                failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
