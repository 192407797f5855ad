"""Planning benchmark: learned CEM / MPPI vs the simulator planner on the same seeded episodes.

    python benchmarks/bench_planning.py --episodes 100 --out runs/bench

Each episode is a scene seed the models never saw in training (seeds from 100000) and one
subgoal drawn from it; a subgoal that already holds at the start is re-drawn. Success is the
scene's predicate on the true MuJoCo state. Every planner sees the same episodes. Results go
to OUT/episodes.jsonl (one row per episode, resumed if the run is interrupted) and a table.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scenarios import AGENT, Subgoal, world_for  # noqa: E402
from worldmodel.checkpoint import load, load_packaged, packaged_path, read_info  # noqa: E402
from worldmodel.mpc import run_subgoal  # noqa: E402
from worldmodel.planning import PlannerConfig, make_planner  # noqa: E402

SKILLS = {"pads": ["go"], "rooms": ["go"], "push": ["go", "push"], "sort": ["go", "push"],
          # the families with consequences: the skill alone, side effects not judged here
          # (`bench_foresight.py` judges them)
          "clutter": ["go", "push"], "fragile": ["go", "push"], "ledge": ["go", "push"]}
FIRST_FAMILIES = ["pads", "rooms", "push", "sort"]
"""the default --families: the families this benchmark has measured from the start"""
BUDGET = {"go": 200, "push": 300}
FIRST_SEED = 100_000


def episode(family: str, skill: str, i: int):
    """(seed, subgoal) of episode `i`: deterministic, never already solved at the start."""
    seed = FIRST_SEED + i
    world = world_for(family, seed)
    rng = np.random.default_rng([seed, len(skill)])
    layout = world.layout
    while True:
        target = layout.targets[rng.integers(len(layout.targets))].name
        if skill == "go":
            sg = Subgoal(skill="go", object=AGENT, target=target)
        else:
            zones = [t.name for t in layout.targets if t.kind == "zone"]
            sg = Subgoal(skill="push", object=layout.blocks[rng.integers(len(layout.blocks))].name,
                         target=str(rng.choice(zones)))
        if not world.holds(sg):
            return seed, sg


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return 0.0, 0.0
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return c - h, c + h


def run(args) -> None:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows_path = out / "episodes.jsonl"
    done = set()
    if rows_path.exists():
        for line in rows_path.read_text().splitlines():
            r = json.loads(line)
            done.add((r["family"], r["skill"], r["planner"], r["model"], r["episode"]))
    sim_cfg = PlannerConfig(samples=args.sim_samples, iterations=args.sim_iterations,
                            elites=min(30, args.sim_samples // 4), hold=True)
    cem_cfg = PlannerConfig(goal_frames=args.goal_frames)
    with rows_path.open("a") as f:
        for family in args.families:
            for model_name in args.models:
                if "/" in model_name:  # a checkpoint path rather than a packaged model
                    model = load(model_name)
                else:
                    obs, _, objective = model_name.partition("-")
                    model = load_packaged(family, obs, objective or "jepa")
                for skill in [s for s in SKILLS[family] if s in args.skills]:
                    for kind in args.planners:
                        if kind == "sim" and model_name != args.models[0]:
                            continue  # the simulator does not depend on the model
                        for i in range(args.episodes):
                            key = (family, skill, kind, model_name if kind != "sim" else "-", i)
                            if key in done:
                                continue
                            seed, sg = episode(family, skill, i)
                            world = world_for(family, seed)
                            planner = make_planner(kind, model=model, world=world,
                                                   config=sim_cfg if kind == "sim" else cem_cfg)
                            t = time.perf_counter()
                            r = run_subgoal(world, sg, planner, BUDGET[skill])
                            row = {"family": family, "skill": skill, "planner": kind,
                                   "model": key[3], "episode": i, "seed": seed,
                                   "subgoal": sg.text(), "success": bool(r.success),
                                   "steps": r.steps, "decisions": len(r.decision_ms),
                                   "median_ms": r.median_ms, "wall_s": time.perf_counter() - t,
                                   "reason": r.reason, "goal_frames": args.goal_frames}
                            f.write(json.dumps(row) + "\n")
                            f.flush()
                            print(f"{family:5} {skill:4} {kind:4} {key[3]:20} {i:3} "
                                  f"{'ok ' if r.success else 'FAIL'} {r.steps:3} steps "
                                  f"{r.median_ms:6.1f} ms", flush=True)


def timing(args) -> None:
    """ms per decision of learned CEM vs the simulator at the same sample budget."""
    cfg = PlannerConfig()
    lines = []
    for family in args.families:
        model = load_packaged(family)
        seed, sg = episode(family, SKILLS[family][-1], 0)
        world = world_for(family, seed)
        goal = world.goal_states(sg)[0]
        res = {}
        for kind in ("cem", "sim"):
            p = make_planner(kind, model=model, world=world, config=cfg)
            ms = [p.plan(world.state(), goal).ms for _ in range(args.timing_decisions)]
            res[kind] = float(np.median(ms))
        lines.append({"family": family, "samples": cfg.samples, "iterations": cfg.iterations,
                      "cem_ms": res["cem"], "sim_ms": res["sim"],
                      "ratio": res["cem"] / res["sim"]})
        print(json.dumps(lines[-1]), flush=True)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "timing.json").write_text(json.dumps(lines, indent=1))


def table(args) -> str:
    rows = [json.loads(x) for x in (Path(args.out) / "episodes.jsonl").read_text().splitlines()]
    groups: dict[tuple, list] = {}
    for r in rows:
        groups.setdefault((r["family"], r["skill"], r["planner"], r["model"]), []).append(r)
    lines = ["| family | skill | planner | model | success | 95% CI | n | median ms/decision |"
             " median steps |", "|---|---|---|---|---|---|---|---|---|"]
    for (fam, skill, kind, model), rs in sorted(groups.items()):
        k, n = sum(r["success"] for r in rs), len(rs)
        lo, hi = wilson(k, n)
        ms = np.median([r["median_ms"] for r in rs])
        steps = np.median([r["steps"] for r in rs])
        lines.append(f"| {fam} | {skill} | {kind} | {model} | {100 * k / n:.0f}% | "
                     f"{100 * lo:.0f}-{100 * hi:.0f}% | {n} | {ms:.1f} | {steps:.0f} |")
    probe = ["", "| family | model | probe RMSE (cm, positions) | effective rank | train s |",
             "|---|---|---|---|---|"]
    for family in args.families:
        for model_name in args.models:
            obs, _, objective = model_name.partition("-")
            path = (Path(model_name) if "/" in model_name
                    else packaged_path(family, obs, objective or "jepa"))
            if path.with_suffix(".json").exists():
                m = read_info(path)["metrics"]
                # renamed to probe_rmse in issue 17 (the state's own units: metres here)
                rmse = m["probe_rmse"] if "probe_rmse" in m else m["probe_rmse_m"]
                probe.append(f"| {family} | {model_name} | {100 * rmse:.1f} | "
                             f"{m['eff_rank']:.1f} | {m['train_seconds']:.0f} |")
    text = "\n".join(lines + probe)
    (Path(args.out) / "table.md").write_text(text + "\n")
    return text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--families", nargs="+", default=FIRST_FAMILIES, choices=list(SKILLS))
    ap.add_argument("--skills", nargs="+", default=["go", "push"])
    ap.add_argument("--planners", nargs="+", default=["cem", "sim", "mppi"])
    ap.add_argument("--models", nargs="+", default=["state"],
                    help="packaged models (state, pixels, state-reconstruction) or checkpoint "
                         "paths (containing a /)")
    ap.add_argument("--episodes", type=int, default=100)
    ap.add_argument("--sim-samples", type=int, default=64)
    ap.add_argument("--sim-iterations", type=int, default=2)
    ap.add_argument("--timing-decisions", type=int, default=20)
    ap.add_argument("--goal-frames", choices=["composed", "rendered"], default="composed",
                    help="a stacking pixel model's moving goals: composed from two renders, "
                         "or each rendered (as before 2026-12-04)")
    ap.add_argument("--only", choices=["run", "timing", "table"], default=None)
    ap.add_argument("--out", default="runs/bench")
    args = ap.parse_args()
    torch.set_num_threads(1)  # measured: more threads make decisions far slower here
    if args.only in (None, "run"):
        run(args)
    if args.only in (None, "timing"):
        timing(args)
    if (Path(args.out) / "episodes.jsonl").exists():  # `--only timing` leaves none
        print(table(args))


if __name__ == "__main__":
    main()
