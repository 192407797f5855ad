"""Reading the real scene: what is where, whether a subgoal holds, how far off it is."""

from __future__ import annotations

import numpy as np

from scenarios.scene import SceneDescription
from scenarios.subgoals import Subgoal
from scenarios.world import World, agent_pos, block_pos


def describe(world: World) -> SceneDescription:
    """The scene as it is now (names, positions, rooms), for the LLM and for people."""
    return SceneDescription.from_layout(world.layout, world.state())


def positions(world: World, state: np.ndarray) -> dict[str, list[float]]:
    """{name: [x, y]} of the agent and every block in the (S,) `state`, to the millimetre."""
    state = np.asarray(state, float)
    pos = {"agent": [round(float(x), 3) for x in agent_pos(state)]}
    for i, b in enumerate(world.layout.blocks):
        pos[b.name] = [round(float(x), 3) for x in block_pos(state, i)]
    return pos


def mover_pos(world: World, subgoal: Subgoal, state: np.ndarray) -> np.ndarray:
    """(2,) position of what `subgoal` moves: the agent for `go`, its block for `push`."""
    if subgoal.skill == "go":
        return agent_pos(state)
    return block_pos(state, world.layout.block_index(subgoal.object))


def where(world: World, subgoal: Subgoal) -> str:
    """Where the thing that should have moved is now, in words."""
    target = np.asarray(world.layout.target(subgoal.target).pos)
    what = "the agent" if subgoal.skill == "go" else f"the {subgoal.object}"
    d = np.linalg.norm(mover_pos(world, subgoal, world.state()) - target)
    return f"{what} is {d:.2f} m from the {subgoal.target}"


def knocked_out(world: World, done: list[Subgoal]) -> list[Subgoal]:
    """The pushes in `done` whose block is no longer where its latest push put it."""
    latest: dict[str, Subgoal] = {}
    for s in done:
        if s.skill == "push":
            latest[s.object] = s
    return [s for s in latest.values() if not world.holds(s)]
