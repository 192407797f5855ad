"""Scripted-skill success on single subgoals: the sanity bound for every planner.

    python benchmarks/bench_skills.py [--seeds 100]

For each family and skill, 100 seeded scenes, one random subgoal each that does not hold at
the start; success is the subgoal's predicate on the true MuJoCo state within the budget.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import scenarios
from scenarios.skills import run_skill

BUDGET = {"go": 150, "push": 250}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=100)
    args = ap.parse_args()
    print(f"{'family':8} {'skill':5} {'success':>9} {'median steps':>13} {'ms/episode':>11}")
    for name in scenarios.names():
        skills = ["go", "push"] if scenarios.world_for(name, 0).layout.blocks else ["go"]
        for skill in skills:
            ok, steps, start = 0, [], time.perf_counter()
            for seed in range(args.seeds):
                world = scenarios.world_for(name, seed)
                subgoal = world.random_subgoal(np.random.default_rng(seed), skill=skill)
                success, _, actions = run_skill(world, subgoal, max_steps=BUDGET[skill])
                ok += success
                steps.append(len(actions))
            ms = 1000 * (time.perf_counter() - start) / args.seeds
            print(f"{name:8} {skill:5} {ok:>4}/{args.seeds:<4} {np.median(steps):>13.0f} "
                  f"{ms:>11.1f}")


if __name__ == "__main__":
    main()
