"""Benchmark harness: what a user feels, beside the bare library call, in the same run.

    python tests/perf/run.py            # full run, writes perf.json at the repo root
    python tests/perf/run.py --quick    # few repetitions (what `make test` runs, so it never rots)
    python tests/perf/run.py --only pooling --device cuda

Every `tests/perf/bench_*.py` module defines
    TARGETS = {"metric": ("<=", 1.5), ...}     # the issue's targets
    def run(options) -> dict[str, float]        # options: quick, device
Figures are printed and written, never asserted: a slow machine must not fail tests.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
import traceback
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path[:0] = [str(ROOT), str(HERE)]


def bench_modules(only: list[str] | None) -> list:
    names = sorted(p.stem for p in HERE.glob("bench_*.py"))
    if only:
        names = [n for n in names if any(o in n for o in only)]
    return [importlib.import_module(name) for name in names]


def meets(value: float, target: tuple[str, float] | None) -> str:
    if target is None:
        return ""
    op, bound = target[0], target[1]
    upper = target[2] if len(target) > 2 else None
    ok = {"<=": value <= bound, ">=": value >= bound,
          "between": upper is not None and bound <= value <= upper}[op]
    return "ok" if ok else "MISSED"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few repetitions")
    parser.add_argument("--only", nargs="*", help="run benchmark modules whose name contains this")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda (training benches)")
    parser.add_argument("--output", default=str(ROOT / "perf.json"), help="where to write JSON")
    args = parser.parse_args(argv)
    options = SimpleNamespace(quick=args.quick, device=args.device)

    import isolate  # noqa: F401 - temp settings dir, so benchmarks never touch the user's

    results: dict[str, float] = {}
    rows: list[tuple[str, float, str, str]] = []
    failures = 0
    for module in bench_modules(args.only):
        started = time.perf_counter()
        try:
            metrics = module.run(options)
        except Exception:  # noqa: BLE001 - report and carry on with the other benches
            traceback.print_exc()
            failures += 1
            continue
        for name, value in metrics.items():
            target = getattr(module, "TARGETS", {}).get(name)
            results[name] = round(float(value), 4)
            shown = "" if target is None else " ".join(str(t) for t in target)
            rows.append((name, float(value), shown, meets(float(value), target)))
        print(f"[{module.__name__}: {time.perf_counter() - started:.1f} s]", file=sys.stderr)

    width = max([len(r[0]) for r in rows] + [6])
    print(f"{'metric':<{width}}  {'value':>10}  {'target':<16} result")
    for name, value, target, verdict in rows:
        print(f"{name:<{width}}  {value:>10.3f}  {target:<16} {verdict}")
    Path(args.output).write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.output}" + (" (quick mode: figures are rough)" if args.quick else ""))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
