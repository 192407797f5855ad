"""Ask the world model "what would happen if...", then check it against MuJoCo.

    python examples/what_if.py [--scenario push] [--seed 3]

The JEPA world model plans a subgoal inside its own latent space and the state probe reads
the predicted positions out; nothing is simulated. Then the same actions run in MuJoCo, and
the two outcomes are printed side by side.
"""

import argparse

import numpy as np

from scenarios import world_for
from worldmodel import load_packaged
from worldmodel.imagine import imagine


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="push")
    ap.add_argument("--seed", type=int, default=3)
    args = ap.parse_args()

    world = world_for(args.scenario, args.seed)
    subgoal = world.random_subgoal(np.random.default_rng(args.seed))
    model = load_packaged(args.scenario)
    dream = imagine(model, world.state(), subgoal, world)
    print(f"what if I {subgoal.text()}?")
    print("  imagined:", dream.describe(world))
    for a in dream.actions:  # now do exactly that in the real scene
        world.step(a)
    real = world.state()
    error = np.linalg.norm(real[0:2] - np.asarray(dream.final_state)[0:2])
    print(f"  real: agent at ({real[0]:+.2f}, {real[1]:+.2f}); subgoal "
          f"{'holds' if world.holds(subgoal) else 'does not hold'}; imagined agent position "
          f"off by {error:.2f} m")


if __name__ == "__main__":
    main()
