"""Side effects: what a task did beyond its subgoals, and when it fails the task."""

import dataclasses

import numpy as np

from scenarios import Subgoal, world_for
from scenarios.layout import BLOCK_RADIUS
from scenarios.side_effects import at_risk, counts, fell, side_effects
from scenarios.skills import run_skill
from scenarios.tasks import TaskMonitor


def _blocked_push(seed: int) -> tuple:
    world = world_for("clutter", seed)
    layout = world.layout
    return world, Subgoal(skill="push", object=layout.blocks[0].name,
                          target=layout.targets[0].name)


def test_a_straight_push_in_clutter_knocks_the_blocker_and_fails_the_task():
    for seed in range(5):
        world, push = _blocked_push(seed)
        start = world.state()
        ok, states, _ = run_skill(world, push, max_steps=300)
        assert ok, "the scripted push reaches its zone"
        effects = side_effects(world.layout, start, states[-1], [push])
        blocker = world.layout.blocks[2].name
        assert [(e.kind, e.thing) for e in effects] == [("displaced", blocker)]
        monitor = TaskMonitor(world.layout, [push], start=start)
        monitor.update(states[-1])
        assert monitor.done == 1 and not monitor.success(states[-1])


def test_a_side_effect_fails_only_families_with_consequences():
    world = world_for("push", 3)
    start = world.state()
    push = Subgoal(skill="push", object=world.layout.blocks[0].name,
                   target=world.layout.targets[0].name)
    ok, states, _ = run_skill(world, push, max_steps=300)
    assert ok
    moved = states[-1].copy()
    moved[8:10] += 0.2  # the other block knocked 20 cm
    monitor = TaskMonitor(world.layout, [push], start=start)
    monitor.update(moved)
    assert counts(monitor.side_effects(moved))["displaced"] == 1
    assert monitor.success(moved)  # push has no consequences: reported, not failed


def test_a_block_that_leaves_its_zone_is_displaced_even_when_it_moved_little():
    world = world_for("clutter", 0)
    layout = world.layout
    zone = np.asarray(layout.targets[1].pos)
    start = world.state()
    start[8:10] = zone + [layout.targets[1].radius - 0.01, 0]  # block 1 just inside zone 2
    now = start.copy()
    now[8] += 0.03  # 3 cm: out of the zone
    push = Subgoal(skill="push", object=layout.blocks[0].name, target=layout.targets[0].name)
    assert [e.detail for e in side_effects(layout, start, now, [push])] == [
        f"left the {layout.targets[1].name}"]


def test_fell_is_past_an_open_edge_by_more_than_the_radius():
    layout = dataclasses.replace(world_for("push", 0).layout, open_edges=("east",))
    state = world_for("push", 0).state()
    state[4:6] = [layout.arena_half + BLOCK_RADIUS - 0.01, 0.0]
    assert not fell(layout, state, 0)
    state[4] += 0.02
    assert fell(layout, state, 0)
    state[4:6] = [-layout.arena_half - 0.5, 0.0]  # past the west edge, which has a wall
    assert not fell(layout, state, 0)


def test_at_risk_sees_the_blocker_on_the_straight_path():
    world, push = _blocked_push(0)
    assert at_risk(world.layout, [push])
    layout = world.layout
    # Move the blocker well off the line: nothing is in the way any more.
    a, z = np.asarray(layout.blocks[0].pos), np.asarray(layout.targets[0].pos)
    u = (z - a) / np.linalg.norm(z - a)
    aside = (a + z) / 2 + 0.3 * np.array([-u[1], u[0]])
    blocker = dataclasses.replace(layout.blocks[2], pos=tuple(aside))
    moved = dataclasses.replace(layout, blocks=layout.blocks[:2] + (blocker,))
    assert not at_risk(moved, [push])


def test_leaving_a_block_one_starts_beside_is_no_knock_but_running_into_it_is():
    from scenarios.side_effects import foreseen

    world = world_for("clutter", 0)
    layout = world.layout
    start = world.state()
    block = np.asarray(layout.blocks[1].pos)
    start[0:2] = block + (0.112, 0.0)  # the agent touching block 1, east of it
    go = Subgoal(skill="go", object="agent", target=layout.targets[0].name)
    away, into = np.stack([start] * 3), np.stack([start] * 3)
    away[1, 0:2], away[2, 0:2] = block + (0.2, 0.01), block + (0.5, 0.0)
    into[1, 0:2], into[2, 0:2] = block + (0.05, 0.0), block - (0.3, 0.0)
    name = layout.blocks[1].name
    assert name not in [e.thing for e in foreseen(layout, start, away, go)]
    knocks = [e for e in foreseen(layout, start, into, go) if e.thing == name]
    assert knocks and knocks[0].depth > 0.05


def test_pushing_on_a_block_jammed_against_another_is_a_sure_knock():
    from scenarios.side_effects import foreseen

    world = world_for("clutter", 0)
    layout = world.layout
    start = world.state()
    other = np.asarray(layout.blocks[2].pos)
    start[4:6] = other - (0.125, 0.0)  # block 0 stalled against block 2
    start[0:2] = other - (0.3, 0.0)
    push = Subgoal(skill="push", object=layout.blocks[0].name, target=layout.targets[0].name)
    path = np.stack([start] * 3)
    path[1, 4:6], path[2, 4:6] = other - (0.06, 0.02), other + (0.2, -0.1)
    knocks = [e for e in foreseen(layout, start, path, push) if e.thing == layout.blocks[2].name]
    assert knocks and knocks[0].depth > 0.05
