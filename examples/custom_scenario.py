"""Script your own scenario: a seeded layout factory, registered, then used like a built-in.

    python examples/custom_scenario.py [--seed 3] [--png corridor.png]

A scenario is a function seed -> Layout (what is where); World compiles it to MuJoCo, and
everything else (Gymnasium env, predicates, goal states, scripted skills, agents) follows.
"""

import argparse

import numpy as np

import scenarios
from scenarios.layout import PAD_RADIUS, Doorway, Layout, Room, Target, Wall, outer_walls, rounded
from scenarios.skills import run_skill


def corridor(seed: int) -> Layout:
    """A table cut by a wall with one gap; a red pad on the far side of it."""
    rng = np.random.default_rng(seed)
    gap = float(rng.uniform(-0.5, 0.5))
    walls = outer_walls(1.0) + (
        Wall((0.0, (gap - 0.2 - 1.0) / 2), (0.02, (gap - 0.2 + 1.0) / 2)),  # below the gap
        Wall((0.0, (gap + 0.2 + 1.0) / 2), (0.02, (1.0 - gap - 0.2) / 2)),  # above it
    )
    pad = Target("red pad", "pad", "red", rounded(rng.uniform([0.4, -0.7], [0.8, 0.7])),
                 PAD_RADIUS, room="east room")
    start = rounded(rng.uniform([-0.8, -0.7], [-0.4, 0.7]))
    # Declaring the rooms and the doorway lets goal states and skills route through the gap.
    rooms = (Room("west room", (-1.0, 0.0, -1.0, 1.0)), Room("east room", (0.0, 1.0, -1.0, 1.0)))
    door = Doorway("gap", ("west room", "east room"), (0.0, round(gap, 3)), axis=0)
    return Layout("corridor", seed, 1.0, start, targets=(pad,), walls=walls, rooms=rooms,
                  doorways=(door,))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--png", default=None)
    args = ap.parse_args()

    scenarios.register(scenarios.Scenario("corridor", "a wall with one gap and a red pad",
                                          "go to the red pad", corridor, max_subgoals=1))
    world = scenarios.world_for("corridor", args.seed)
    goal = scenarios.Subgoal(skill="go", object="agent", target="red pad")
    # The straight line to the pad crosses the wall; the goal states go through the gap.
    waypoints = [g[:2].round(2).tolist() for g in world.goal_states(goal)]
    print(f"goal states put the agent at {waypoints}")
    ok, states, _ = run_skill(world, goal, max_steps=150)
    print(f"corridor seed {args.seed}: scripted go {'reached' if ok else 'did not reach'} the "
          f"red pad in {len(states) - 1} steps; agent at {states[-1][:2].round(2)}")
    if args.png:
        import imageio.v3 as iio

        iio.imwrite(args.png, world.render(width=256))
        print(f"wrote {args.png}")


if __name__ == "__main__":
    main()
