"""How long the plan critic takes: imagining K candidate plans (the task's plan and its other
orders, `agent.understand.candidates.reorderings`) with the shipped state world model,
against imagining the plan alone (K=1), on the `foresight` suite's tasks of N subgoals.

    python benchmarks/bench_critic.py --subgoals 4 --tasks 10 --k 4

Prints per task the seconds for K=1 and for K, and the medians with their ratio. The LLM's
drawn plans are not timed here (each is one more LLM call, ~1 s on this CPU): only the world
model's part, which is what issue 15 bounds at 1 s for K=4.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from agent.evaluation.suites import load_suite
from agent.understand.candidates import reorderings
from scenarios.registry import get
from scenarios.subgoals import Plan, Subgoal
from scenarios.world import World
from tools.imagination import WorldModelImaginer, choose
from tools.models import ModelShelf


def _plans(subgoals: list[Subgoal], k: int) -> list[list[Subgoal]]:
    """What the agent compares without LLM draws: the plan and its other orders."""
    plan = Plan(subgoals=subgoals)
    return [subgoals] + [p.subgoals for p in reorderings(plan)][:k - 1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subgoals", type=int, default=4)
    ap.add_argument("--tasks", type=int, default=10)
    ap.add_argument("--k", type=int, default=4)
    args = ap.parse_args()
    torch.set_num_threads(1)
    imaginer = WorldModelImaginer(ModelShelf("state"))
    episodes = [e for e in load_suite("foresight").episodes
                if len(e.subgoals or []) == args.subgoals]
    rows = []
    for ep in episodes[:args.tasks]:
        world = World(get(ep.scenario).layout(ep.seed))
        plan = list(ep.subgoals)
        plans = _plans(plan, args.k)
        times = []
        for these in ([plan], plans):
            t = time.perf_counter()
            i, _, _ = choose(imaginer.imagine, world, these)
            times.append(time.perf_counter() - t)
        rows.append((ep.scenario, ep.seed, len(plans), *times, i))
        print(f"{ep.scenario:8s} seed {ep.seed:6d}  {len(plans)} orders  K=1 {times[0]:6.2f} s  "
              f"K={len(plans)} {times[1]:6.2f} s  chose {i}", flush=True)
        world.close()
    one = statistics.median(r[3] for r in rows)
    many = statistics.median(r[4] for r in rows)
    print(f"\nmedian over {len(rows)} tasks of {args.subgoals} subgoals: K=1 {one:.2f} s, "
          f"K<={args.k} {many:.2f} s ({many / one:.1f}x); "
          f"{sum(r[5] != 0 for r in rows)} chose another order")


if __name__ == "__main__":
    main()
