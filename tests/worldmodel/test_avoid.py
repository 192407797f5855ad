"""`avoid` in the learned planner: a scene built so that the straight path runs over the
avoided block; the plan must go round it and still reach the subgoal."""

import numpy as np
import pytest
import torch

from scenarios import world_for
from scenarios.relations import disturbed
from scenarios.subgoals import Subgoal
from tools.acting import avoid_penalty
from worldmodel.checkpoint import load_packaged
from worldmodel.mpc import run_subgoal
from worldmodel.planning import make_planner


def line_scene(skill):
    """push/0 with the agent west of the yellow zone and a block in the way: for `go` the
    avoided block is between the agent and the zone; for `push` it sits on the pushed block's
    line to the zone."""
    world = world_for("push", 0)
    zone = world.layout.target("yellow zone")
    zx, zy = zone.pos
    a, b = world.layout.blocks[:2]
    s = world.state()
    s[0:2] = [zx - zone.radius - 0.85, zy]
    if skill == "go":
        s[4:6], s[8:10] = [zx - zone.radius - 0.45, zy], [-0.8, 0.8]
        return world, s, Subgoal(skill="go", object="agent", target=zone.name), a.name
    s[4:6], s[8:10] = [zx - zone.radius - 0.6, zy], [zx - zone.radius - 0.3, zy]
    return world, s, Subgoal(skill="push", object=a.name, target=zone.name), b.name


@pytest.mark.parametrize("skill", ["go", "push"])
def test_the_planner_goes_round_what_it_must_avoid(skill):
    torch.set_num_threads(1)
    model = load_packaged("push", "state")
    outcomes = {}
    for avoid in ((), "avoided"):
        world, s, sg, name = line_scene(skill)
        world.set_state(s)
        planner = make_planner("cem", model=model, world=world)
        names = (name,) if avoid else ()
        if names:
            planner.penalty = avoid_penalty(world.layout, s, names)
        r = run_subgoal(world, sg, planner, 300, avoid=names)
        outcomes[bool(avoid)] = (r.success, disturbed(world.layout, s, r.states, [name]))
    # the straight path does hit it: the scene tests something
    assert outcomes[False] == (True, [line_scene(skill)[3]])
    assert outcomes[True][1] == []  # with avoid it is left alone
    if skill == "go":
        assert outcomes[True][0]  # and the goal is still reached
    # A push round it is not always finished in the budget (BENCHMARKS.md: 68% with avoid
    # against 97% without): here the block ends just past the avoided one, where there is
    # no room behind it to push from.


def test_detour_leaves_a_clear_path_alone():
    world = world_for("push", 0)
    s = world.state()
    sg = Subgoal(skill="go", object="agent", target="yellow zone")
    far = world.layout.blocks[1].name  # at (0.04, 0.61): nowhere near the agent's path
    plain = world.goal_states(sg, s)
    assert len(world.goal_states(sg, s, (far,))) == len(plain)
    assert np.allclose(world.goal_states(sg, s, (far,))[-1], plain[-1])


def test_a_block_left_against_what_it_goes_round_still_goes_round_it():
    """Fragile, watched: the block drifted to 13 cm above the glass on its way round, inside
    the keep-clear circle; the detour then gave up and aimed straight through the glass, the
    avoid cost forbade that push, and the agent stalled until its budget ran out."""
    from scenarios.relations import detour, segment_distance

    layout = world_for("push", 0).layout
    glass, r = np.array([0.3, -0.1]), 0.25
    block, zone = np.array([0.29, 0.03]), np.array([0.38, -0.54])
    route = detour(layout, block, [zone], [(glass, r)], 0.16)
    assert len(route) == 2 and np.allclose(route[-1], zone)
    beside = route[0]
    assert np.linalg.norm(beside - glass) > r  # out of the circle, to one side
    assert segment_distance(block, beside, glass) > np.linalg.norm(block - glass) - 0.03
    # the same block with its zone away from the glass: nothing to go round
    away = np.array([0.2, 0.5])
    assert len(detour(layout, block, [away], [(glass, r)], 0.16)) == 1
