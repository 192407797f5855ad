"""The fragile family: a glass that breaks when struck, stays broken, and fails the task."""

import mujoco
import numpy as np

from scenarios import Subgoal, world_for
from scenarios.instructions import make_task
from scenarios.side_effects import broken, foreseen, side_effects
from scenarios.skills import run_skill
from scenarios.tasks import TaskMonitor
from scenarios.world import BREAK_FORCE

GLASS = 2  # the third thing of the layout


def _clear_scene(seed: int = 0):
    """fragile/seed with both blocks moved to far corners: only the agent and the glass."""
    world = world_for("fragile", seed)
    s = world.initial_state()
    s[4:6], s[8:10] = (0.8, 0.8), (-0.8, 0.8)
    glass = np.asarray(world.layout.blocks[GLASS].pos)
    return world, s, glass


def _peak_force(world, state, steps: int, action=(0.0, 0.0)) -> float:
    world.set_state(state)
    peak = 0.0
    for _ in range(steps):
        world.data.ctrl[:] = action
        mujoco.mj_step(world.model, world.data)
        peak = max(peak, float(world.glass_force(world.data).max()))
    return peak


def test_a_strike_breaks_the_glass_and_a_gentle_touch_does_not():
    world, s, glass = _clear_scene()
    fast, slow = s.copy(), s.copy()
    fast[0:2], fast[2] = glass - (0.12, 0.0), 0.9  # about to hit it at 0.9 m/s
    slow[0:2], slow[2] = glass - (0.12, 0.0), 0.15
    assert _peak_force(world, fast, 30) > 2 * BREAK_FORCE
    assert _peak_force(world, slow, 30) < BREAK_FORCE / 2
    leaning = s.copy()
    leaning[0:2] = glass - (0.111, 0.0)  # touching, from rest, full force for half a second
    assert _peak_force(world, leaning, 50, (1.0, 0.0)) < BREAK_FORCE / 2


def test_a_broken_glass_stays_broken_in_the_state_and_across_a_resume():
    world, s, glass = _clear_scene()
    s[0:2], s[2] = glass - (0.3, 0.0), 0.9
    world.set_state(s)
    start = s.copy()
    for _ in range(5):
        state = world.step([1.0, 0.0])
    assert broken(world.layout, state, GLASS) and not broken(world.layout, start, GLASS)
    for _ in range(30):  # at rest again: still broken
        state = world.step([0.0, 0.0])
    assert state[-1] == 1.0
    resumed = world_for("fragile", 0)
    resumed.set_state(state)
    assert broken(resumed.layout, resumed.step([0.0, 0.0]), GLASS)
    effects = side_effects(world.layout, start, state, [])
    assert [(e.kind, e.thing) for e in effects] == [("broke", "glass")]


def test_the_straight_scripted_push_breaks_the_glass_and_fails_the_task():
    for seed in range(3):
        world = world_for("fragile", seed)
        layout = world.layout
        push = Subgoal(skill="push", object=layout.blocks[0].name, target=layout.targets[0].name)
        start = world.state()
        ok, states, _ = run_skill(world, push, max_steps=300)
        assert ok and world.holds(push, states[-1])
        monitor = TaskMonitor(layout, [push], start=start)
        for st in states[1:]:
            monitor.update(st)
        assert monitor.done == 1 and not monitor.success(states[-1])
        assert "broke" in [e.kind for e in monitor.side_effects(states[-1])]


def test_an_imagined_path_through_the_glass_foresees_a_break():
    world = world_for("fragile", 0)
    layout = world.layout
    push = Subgoal(skill="push", object=layout.blocks[0].name, target=layout.targets[0].name)
    start = world.state()
    path = np.stack([start] * 2)
    path[1, 4:6] = layout.target(push.target).pos  # the block straight into its zone
    assert [(e.kind, e.thing) for e in foreseen(layout, start, path, push)] == [
        ("broke", "glass")]


def test_no_task_pushes_the_glass():
    rng = np.random.default_rng(0)
    for seed in range(20):
        task = make_task("fragile", seed, 1 + seed % 4, "train", rng)
        assert task is None or all(s.object != "glass" for s in task.subgoals)
        world = world_for("fragile", seed)
        assert world.random_subgoal(rng, skill="push").object != "glass"


def test_a_broken_glass_looks_broken():
    world, s, _ = _clear_scene()
    broken_state = s.copy()
    broken_state[-1] = 1.0
    whole, shattered = world.render(s, 48), world.render(broken_state, 48)
    assert np.abs(whole.astype(int) - shattered).sum() > 0


def test_committing_to_imagined_chunks_foresees_the_same_break_with_fewer_searches(
        monkeypatch):
    """Imagination may carry out several chunks of each imagined decision (there is no model
    error inside the model to correct): the shipped model still foresees the glass struck by
    the straight push, and searches at most half as often."""
    from tools.imagination import WorldModelImaginer
    from tools.models import ModelShelf
    from worldmodel.planning import LatentPlanner

    searches = []
    plan_latent = LatentPlanner.plan_latent

    def counted(self, z, z_goal):
        searches[-1] += 1
        return plan_latent(self, z, z_goal)

    monkeypatch.setattr(LatentPlanner, "plan_latent", counted)
    world = world_for("fragile", 0)
    push = Subgoal(skill="push", object=world.layout.blocks[0].name,
                   target=world.layout.targets[0].name)
    seen = {}
    for commit in (1, 3):
        searches.append(0)
        im = WorldModelImaginer(ModelShelf("state"), commit=commit).imagine(
            world, world.state(), push)
        seen[commit] = {(e.kind, e.thing) for e in im.effects}
    assert ("broke", "glass") in seen[1] and seen[3] == seen[1]
    assert searches[1] <= searches[0] / 2, searches
