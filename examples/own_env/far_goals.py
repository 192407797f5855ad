"""Far goals behind a wall: flat latent planning against the landmark route, on SliderWall-v0.

    wmagent collect --env slider_env:SliderWall-v0 --policy slider_env:wander --episodes 1500 \
        --out runs/wall/data
    wmagent train --env slider_env:SliderWall-v0 --data runs/wall/data --out runs/wall/model
    python examples/own_env/far_goals.py --checkpoint runs/wall/model --data runs/wall/data

(with examples/own_env on PYTHONPATH). Goals are where the `wander` policy is K steps after
`reset(seed)`; "behind the wall" means the start and the goal lie on opposite sides of it.
"""

import argparse
import json

import numpy as np
import torch
from slider_env import wander

from worldmodel.checkpoint import load
from worldmodel.datasets import read
from worldmodel.envs import make
from worldmodel.landmarks import LandmarkPlanner
from worldmodel.planning import CEMPlanner
from worldmodel.reach import EVAL_SEED, distance_success, reach, wilson

ENV = "slider_env:SliderWall-v0"

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("--checkpoint", required=True)
ap.add_argument("--data", required=True)
ap.add_argument("--episodes", type=int, default=100)
ap.add_argument("--offsets", type=int, nargs="+", default=[25, 100])
ap.add_argument("--budget", type=int, default=200)
args = ap.parse_args()

torch.set_num_threads(1)
model = load(f"{args.checkpoint}/model")
planners = {"flat": CEMPlanner(model),
            "landmarks": LandmarkPlanner(model, read(args.data).episodes)}
env, observe = make(ENV, max_episode_steps=max(args.offsets) + args.budget)
success = distance_success((0, 1), 0.03)
rows = []
for k in args.offsets:
    tally = {(name, side): [] for name in planners for side in ("same side", "behind the wall")}
    for seed in range(EVAL_SEED, EVAL_SEED + args.episodes):
        start = observe(env.reset(seed=seed)[0])
        act, goal = wander(env, seed), start
        for _ in range(k):
            goal = observe(env.step(act(goal))[0])
        side = "behind the wall" if np.sign(start[0]) != np.sign(goal[0]) else "same side"
        for name, planner in planners.items():
            obs = observe(env.reset(seed=seed)[0])
            r = reach(env, planner, obs, goal, success, args.budget, observe)
            tally[name, side].append(r.success)
    for (name, side), wins in tally.items():
        lo, hi = wilson(sum(wins), len(wins))
        rows.append({"K": k, "planner": name, "goals": side, "n": len(wins),
                     "success": sum(wins) / max(len(wins), 1), "ci": [lo, hi]})
        print(f"K={k:3d} {name:9s} {side:15s} {sum(wins):3d}/{len(wins):3d} "
              f"[{100 * lo:.0f}-{100 * hi:.0f}%]", flush=True)
print(json.dumps(rows))
