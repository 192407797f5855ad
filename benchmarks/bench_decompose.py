"""Exact-match decomposition accuracy on the held-out test split, and latency.

    python benchmarks/bench_decompose.py --per-family 50              # shipped adapter
    python benchmarks/bench_decompose.py --per-family 10 --untuned    # the model as packaged
    python benchmarks/bench_decompose.py --adapter runs/planner-s3    # a candidate adapter
    python benchmarks/bench_decompose.py --llm http://127.0.0.1:8000/v1 --model planner

Instructions come from `scenarios.instructions.generate(split="test")` on scene seeds from
100000, so their phrasings never occur in the training data and their scenes are new.
Exact match: the decomposition's subgoals equal the task's, in order.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from llm_args import add_llm_options, llm_backend  # noqa: E402

from agent.understand.decompose import decompose  # noqa: E402
from scenarios import get, names  # noqa: E402
from scenarios.instructions import generate  # noqa: E402
from scenarios.scene import SceneDescription  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-family", type=int, default=50, help="test instructions per family")
    ap.add_argument("--seed", type=int, default=100000, help="first scene seed")
    add_llm_options(ap)
    args = ap.parse_args()
    backend = llm_backend(args)

    by_n, by_family, secs, first = defaultdict(list), defaultdict(list), [], []
    out = args.out.open("w") if args.out else None
    for family in names():
        for task in generate(family, args.per_family, split="test", seed=args.seed):
            scene = SceneDescription.from_layout(get(family).layout(task.seed))
            d = decompose(backend, scene, task.instruction)
            ok = d.plan is not None and d.plan.subgoals == task.subgoals
            first.append(d.attempts == 1 and ok)
            by_n[len(task.subgoals)].append(ok)
            by_family[family].append(ok)
            secs.append(d.usage.seconds)
            if out:
                out.write(json.dumps({"family": family, "seed": task.seed, "ok": ok,
                                      "instruction": task.instruction,
                                      "want": [s.text() for s in task.subgoals],
                                      "got": d.plan.text() if d.plan else d.question,
                                      "attempts": d.attempts, "seconds": d.usage.seconds,
                                      "completion_tokens": d.usage.completion_tokens}) + "\n")
                out.flush()
            got = "" if ok else f"\n    got: {d.plan.text() if d.plan else d.question}"
            print(f"{'ok ' if ok else 'BAD'} {d.usage.seconds:5.1f}s {family}: "
                  f"{task.instruction}{got}", flush=True)
    every = [x for v in by_family.values() for x in v]
    print(f"\n{backend.describe()}; {platform.processor() or platform.machine()}, "
          f"torch threads {args.threads}")
    print(f"exact match: {sum(every)}/{len(every)} = {100 * sum(every) / len(every):.1f}% "
          f"(first attempt {100 * sum(first) / len(first):.1f}%)")
    for n in sorted(by_n):
        print(f"  {n} subgoal(s): {sum(by_n[n])}/{len(by_n[n])}")
    for f, v in by_family.items():
        print(f"  {f}: {sum(v)}/{len(v)}")
    q = statistics.quantiles(secs, n=10)
    print(f"latency per instruction: median {statistics.median(secs):.2f} s, p90 {q[-1]:.2f} s, "
          f"mean {statistics.mean(secs):.2f} s")


if __name__ == "__main__":
    main()
