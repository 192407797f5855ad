"""Sweep throughput of the evaluation harness: episodes/s with 1 and 2 local workers (and
Ray), oracle-script on a built-in suite; the clock covers run_sweep only (pool start-up
included, report excluded).

    python benchmarks/bench_eval.py --suite horizon --episodes 120 --workers 1 2 --repeats 2

`--wait-ms W` adds W ms of idle waiting to each episode (what an agent does while a shared
LLM server answers), to see the pool's parallelism when the CPU is not the bottleneck.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from agent.evaluation import SweepConfig, load_suite, run_sweep
from agent.evaluation.runner import default_factory


class Waiting:
    """The real agent, plus an idle wait per episode."""

    def __init__(self, agent, wait_s: float):
        self.agent, self.wait_s = agent, wait_s

    def run(self, *args, **kwargs):
        time.sleep(self.wait_s)
        return self.agent.run(*args, **kwargs)


def waiting_factory(kind, llm, home):
    return Waiting(default_factory(kind, llm, home), float(os.environ["BENCH_WAIT_MS"]) / 1000)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--suite", default="horizon")
    p.add_argument("--episodes", type=int, default=120)
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--ray", action="store_true", help="also time a local Ray instance")
    p.add_argument("--wait-ms", type=float, default=0.0, help="idle wait added per episode")
    args = p.parse_args()
    os.environ["BENCH_WAIT_MS"] = str(args.wait_ms)  # read by spawned workers
    factory = waiting_factory if args.wait_ms else default_factory
    suite = load_suite(args.suite, args.episodes)
    modes = [(w, None) for w in args.workers] + ([(w, "local") for w in args.workers]
                                                 if args.ray else [])
    print(f"suite {suite.name}, {len(suite.episodes)} episodes, oracle-script, "
          f"+{args.wait_ms:g} ms idle per episode")
    for r in range(args.repeats):
        for workers, ray in modes:
            with tempfile.TemporaryDirectory() as tmp:
                cfg = SweepConfig(("oracle-script",), Path(tmp), workers=workers, ray=ray)
                start = time.perf_counter()
                rows = run_sweep(suite, cfg, factory=factory).rows()
                secs = time.perf_counter() - start
            ok = sum(r["success"] for r in rows)
            label = f"ray x{workers}" if ray else f"workers {workers}"
            print(f"repeat {r + 1} {label:>10}: {len(rows) / secs:6.1f} episodes/s "
                  f"({secs:.1f} s, {ok}/{len(rows)} succeeded)", flush=True)


if __name__ == "__main__":
    main()
