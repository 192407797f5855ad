"""How long the plan critic takes: imagining K candidate plans (the task's plan and its other
orders, `agent.understand.candidates.reorderings`) with the shipped state world model,
against imagining the plan alone (K=1), on the `foresight` suite's tasks of N subgoals.

    python benchmarks/bench_critic.py --subgoals 4 --tasks 10 --k 4 --settings 1 1:s1 3

Each setting is an imagination setting, COMMIT[:sSEED][:nSAMPLES][:iITERATIONS]
(`tools.imagination.WorldModelImaginer.parse`); the first is the reference the others'
verdicts are compared with, and the same setting with another planner seed ("1:s1") says how
much of a difference is the seed's alone.

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


def _verdict(f) -> tuple:
    """What the critic reads off one candidate's foresight: per imagined subgoal whether it
    is predicted reached, the kinds and things of the predicted side effects, and whether
    it would ask first."""
    return (tuple(im.ok for _, im in f.imagined),
            tuple(sorted((e.kind, e.thing) for e in f.chosen)), len(f.unsafe) > 0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subgoals", type=int, default=4)
    ap.add_argument("--tasks", type=int, default=10)
    ap.add_argument("--k", type=int, default=4)
    ap.add_argument("--settings", "--commit", nargs="+", default=["1"],
                    help="imagination settings COMMIT[:sSEED][:nSAMPLES][:iITERATIONS]; the "
                         "first is the reference the others' verdicts are compared with")
    args = ap.parse_args()
    torch.set_num_threads(1)
    shelf = ModelShelf("state")
    imaginers = {c: WorldModelImaginer.parse(shelf, c) for c in args.settings}
    episodes = [e for e in load_suite("foresight").episodes
                if len(e.subgoals or []) == args.subgoals]
    rows = []
    for ep in episodes[:args.tasks]:
        world = World(get(ep.scenario).layout(ep.seed))
        plan = list(ep.subgoals)
        plans = _plans(plan, args.k)
        row = {"task": (ep.scenario, ep.seed), "orders": len(plans)}
        for c, imaginer in imaginers.items():
            for label, these in (("one", [plan]), ("all", plans)):
                t = time.perf_counter()
                i, _, seen = choose(imaginer.imagine, world, these)
                row[c, label] = time.perf_counter() - t
            row[c, "chose"], row[c, "verdicts"] = i, [_verdict(f) for f in seen]
        rows.append(row)
        print(f"{ep.scenario:8s} seed {ep.seed:6d}  {len(plans)} orders  " + "  ".join(
            f"{c}: K=1 {row[c, 'one']:5.2f} s, K={len(plans)} {row[c, 'all']:5.2f} s, "
            f"chose {row[c, 'chose']}" for c in imaginers), flush=True)
        world.close()
    ref = args.settings[0]
    print(f"\n{len(rows)} tasks of {args.subgoals} subgoals, K <= {args.k}:")
    for c in imaginers:
        one = statistics.median(r[c, "one"] for r in rows)
        many = statistics.median(r[c, "all"] for r in rows)
        same = sum(r[c, "verdicts"] == r[ref, "verdicts"] for r in rows)
        chose = sum(r[c, "chose"] == r[ref, "chose"] for r in rows)
        print(f"{c}: median K=1 {one:.2f} s, all orders {many:.2f} s ({many / one:.1f}x);"
              f" {sum(r[c, 'chose'] != 0 for r in rows)} chose another order; against "
              f"{ref}: every verdict the same on {same}/{len(rows)}, the same choice on "
              f"{chose}/{len(rows)}")


if __name__ == "__main__":
    main()
