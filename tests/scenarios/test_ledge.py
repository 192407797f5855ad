"""The ledge family: a table with open edges, where a block pushed past one falls and stays
fallen, the agent stays on, and scenes without open edges compile exactly as before."""

import hashlib
import re

import numpy as np
import pytest

import scenarios
from scenarios.collect import collect_episode
from scenarios.layout import AGENT_RADIUS, BLOCK_RADIUS
from scenarios.scene import SceneDescription
from scenarios.side_effects import EDGE_AXES, fell, past_edge
from scenarios.skills import ScriptedSkill, run_skill
from scenarios.subgoals import Subgoal
from scenarios.world import BLOCK_HALF_HEIGHT, FLOOR_DROP, RAIL_GAP, build_mjcf, world_for
from worldmodel.planning import PlannerConfig, make_planner

# sha256 (first 16 hex digits) of build_mjcf before open edges existed: the shipped world
# models were trained on these scenes, so their physics must not change by a character.
MJCF_BEFORE = {
    ("pads", 0): "a5e3611acc6d00e0", ("pads", 1): "b09b29be2ae2d8e8",
    ("pads", 7): "f05e15ab51833696", ("push", 0): "b6ae2cb10ab0ffa0",
    ("push", 1): "dec7ef8911d495d4", ("push", 7): "e507c3336ca0de51",
    ("sort", 0): "e5de477d923ad3dc", ("sort", 1): "aa5b695efabbbb00",
    ("sort", 7): "88d48bff6112efcb", ("rooms", 0): "5ba90f01e310553e",
    ("rooms", 1): "4fbdb43c14d5a5cd", ("rooms", 7): "8c2cc27c9e061a7f",
}


def _nearest_edge(layout, p):
    """The open edge nearest to point `p`, as (axis, sign)."""
    return max((EDGE_AXES[e] for e in layout.open_edges),
               key=lambda e: e[1] * p[e[0]])


def _block_z(world, i):
    """The height of block `i`'s centre, read from MuJoCo (the state has none)."""
    return float(world.data.body(f"block{i}").xpos[2])


ON_FLOOR = pytest.approx(BLOCK_HALF_HEIGHT - FLOOR_DROP, abs=0.005)
ON_TABLE = pytest.approx(BLOCK_HALF_HEIGHT, abs=0.005)


@pytest.mark.parametrize("seed", [0, 1, 3])
def test_a_block_pushed_past_the_open_edge_falls_and_stays_fallen(seed):
    world = world_for("ledge", seed)
    layout = world.layout
    i = int(np.argmax(past_edge(layout, np.array([b.pos for b in layout.blocks]))))
    block = layout.blocks[i]
    skill = ScriptedSkill(layout, Subgoal(skill="push", object=block.name,
                                          target=layout.targets[0].name), world.state())
    axis, sign = _nearest_edge(layout, block.pos)
    skill.target = np.array(block.pos, float)
    skill.target[axis] = sign * (layout.arena_half + 0.3)  # beyond the edge
    state = world.state()
    for _ in range(150):
        state = world.step(skill(state))
    assert fell(layout, state, i)
    assert _block_z(world, i) == ON_FLOOR, "a fallen block rests on the floor, below the table"
    for _ in range(50):  # the agent keeps driving at it
        state = world.step(skill(state))
    assert fell(layout, state, i) and _block_z(world, i) == ON_FLOOR


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_agent_cannot_leave_the_table_across_an_open_edge(seed):
    world = world_for("ledge", seed)
    for edge in world.layout.open_edges:
        axis, sign = EDGE_AXES[edge]
        world.reset()
        action = np.zeros(2)
        action[axis] = sign
        for _ in range(100):
            state = world.step(action)
        reach = sign * state[axis]
        assert reach <= world.layout.arena_half, f"the agent left across the {edge} edge"
        assert reach == pytest.approx(world.layout.arena_half + RAIL_GAP - AGENT_RADIUS,
                                      abs=0.005), "the rail stops it just inside the edge"


@pytest.mark.parametrize("seed", range(6))
def test_a_block_pushed_into_the_zone_by_the_edge_stays_on_the_table(seed):
    world = world_for("ledge", seed)
    layout = world.layout
    zones = np.array([t.pos for t in layout.targets])
    zone = layout.targets[int(np.argmax(past_edge(layout, zones)))]
    block = layout.blocks[seed % 2]
    ok, _, _ = run_skill(world, Subgoal(skill="push", object=block.name, target=zone.name),
                         max_steps=300)
    for _ in range(30):  # let everything come to rest
        state = world.step(np.zeros(2))
    assert ok
    i = layout.block_index(block.name)
    assert not fell(layout, state, i) and _block_z(world, i) == ON_TABLE


@pytest.mark.parametrize("name,seed", sorted(MJCF_BEFORE))
def test_scenes_without_open_edges_compile_as_before(name, seed):
    mjcf = build_mjcf(scenarios.get(name).layout(seed))
    # Sort's blocks later gained a drawn-only rim (no contact, no mass: `world._rim`), so
    # that frames show a block on the zone of its colour; the rest is as it was.
    rims = re.findall(r'<geom name="[^"]* rim"[^>]*/>', mjcf)
    assert all('contype="0" conaffinity="0" density="0"' in r for r in rims)
    assert bool(rims) == (name == "sort")
    mjcf = re.sub(r'<geom name="[^"]* rim"[^>]*/>', "", mjcf)
    assert hashlib.sha256(mjcf.encode()).hexdigest()[:16] == MJCF_BEFORE[(name, seed)]


@pytest.mark.parametrize("name,dim", [("pads", 14), ("push", 16), ("sort", 22), ("rooms", 22)])
def test_the_state_of_scenes_without_open_edges_is_laid_out_as_before(name, dim):
    world = world_for(name, 0)
    state = world.step(np.array([0.6, -0.4]))
    assert world.spec.dim == dim
    # per body x, y, vx, vy, read straight from qpos and qvel as before
    dyn = state[: world.spec.n_dynamic].reshape(-1, 4)
    np.testing.assert_array_equal(dyn[:, 0:2].reshape(-1), world.data.qpos)
    np.testing.assert_array_equal(dyn[:, 2:4].reshape(-1), world.data.qvel)


def test_set_state_round_trips_a_fallen_block_and_one_on_the_table():
    world = world_for("ledge", 0)
    layout = world.layout
    axis, sign = EDGE_AXES[layout.open_edges[0]]
    state = world.initial_state()
    fallen = np.array(layout.blocks[0].pos, float)
    fallen[axis] = sign * (layout.arena_half + 0.12)
    state[4:6], state[6:8] = fallen, (0.05, -0.03)
    state[10:12] = (0.2, 0.1)
    world.set_state(state)
    assert np.abs(world.state() - state).max() < 1e-6
    assert fell(layout, state, 0) and not fell(layout, state, 1)
    assert (_block_z(world, 0), _block_z(world, 1)) == (ON_FLOOR, ON_TABLE)
    for _ in range(20):
        after = world.step(np.zeros(2))
    assert fell(layout, after, 0) and not fell(layout, after, 1)
    assert (_block_z(world, 0), _block_z(world, 1)) == (ON_FLOOR, ON_TABLE)
    assert world.warmstart() and len(world.warmstart()) == world.model.nv


def test_a_random_episode_reads_the_same_states_as_stepping():
    world = world_for("ledge", 2)
    ep = collect_episode("ledge", 2, "random", 30, np.random.default_rng(0))
    assert ep["state"].shape == (31, world.spec.dim)
    stepped = [world.state()] + [world.step(a) for a in ep["action"]]
    np.testing.assert_allclose(ep["state"], np.asarray(stepped), atol=1e-5)


def test_the_simulator_planner_plans_in_a_ledge_world():
    world = world_for("ledge", 1)
    planner = make_planner("sim", world=world, config=PlannerConfig(
        horizon=3, samples=16, iterations=2, elites=4, hold=True))
    goal = world.goal_states(Subgoal(skill="push", object=world.layout.blocks[0].name,
                                     target=world.layout.targets[0].name))[-1]
    decision = planner.plan(world.state(), goal)
    assert decision.actions.shape == (3, 5, 2) and np.isfinite(decision.energy)


def test_the_scene_text_names_each_open_edge_and_only_there():
    ledge = scenarios.get("ledge").layout(1)
    text = SceneDescription.from_layout(ledge).to_text()
    for edge in ledge.open_edges:
        assert f"- the {edge} edge of the table is open: a block pushed past it falls off" in text
    assert "open" not in SceneDescription.from_layout(scenarios.get("push").layout(1)).to_text()


def test_every_ledge_layout_has_a_zone_and_a_block_by_an_open_edge_and_zones_on_the_table():
    for seed in range(200):
        layout = scenarios.get("ledge").layout(seed)
        assert 1 <= len(layout.open_edges) <= 2 and len(layout.walls) == 4 - len(
            layout.open_edges)
        # how far the centres are inside the nearest open edge (positions are to the mm)
        zones = -BLOCK_RADIUS - past_edge(layout, np.array([t.pos for t in layout.targets]))
        blocks = -BLOCK_RADIUS - past_edge(layout, np.array([b.pos for b in layout.blocks]))
        assert 0.2 - 1e-3 <= zones.min() <= 0.35 + 1e-3, "zones lie on the table, one by an edge"
        assert 0.15 - 1e-3 <= blocks.min() <= 0.3 + 1e-3, "a block lies by an open edge"
