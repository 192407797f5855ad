"""Properties every registered scenario must have (dm_control's suite test is the model)."""

import gymnasium as gym
import numpy as np
import pytest

import scenarios
from scenarios.scene import SceneDescription
from scenarios.skills import run_skill

NAMES = scenarios.names()


def test_the_families_are_registered():
    assert {"pads", "push", "rooms", "sort", "clutter"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_rollout(name):
    def rollout(seed):
        env = gym.make(f"wmagent/{name}-v0")
        obs, _ = env.reset(seed=seed)
        rng = np.random.default_rng(0)
        states = [obs["state"]]
        for _ in range(40):
            obs, *_ = env.step(rng.uniform(-1, 1, 2))
            states.append(obs["state"])
        return np.stack(states)

    a, b = rollout(5), rollout(5)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a[0], rollout(6)[0]), "another seed should give another layout"


@pytest.mark.parametrize("name", NAMES)
def test_observations_finite_and_in_declared_spaces(name):
    env = gym.make(f"wmagent/{name}-v0", obs="both", pixels_size=32)
    obs, _ = env.reset(seed=1)
    rng = np.random.default_rng(1)
    for _ in range(30):
        assert env.observation_space.contains(obs)
        assert np.all(np.isfinite(obs["state"]))
        # Out-of-range actions are clipped, never rejected or amplified.
        obs, *_ = env.step(rng.uniform(-3, 3, 2))
    assert obs["pixels"].std() > 0, "the rendered frame should not be blank"


@pytest.mark.parametrize("name", NAMES)
def test_action_outside_bounds_is_clipped(name):
    a, b = scenarios.world_for(name, 2), scenarios.world_for(name, 2)
    np.testing.assert_allclose(a.step(np.array([7.0, -9.0])), b.step(np.array([1.0, -1.0])))


@pytest.mark.parametrize("name", NAMES)
def test_predicates_false_before_and_true_after_scripted_skill(name):
    for seed in range(8):
        world = scenarios.world_for(name, seed)
        rng = np.random.default_rng(seed)
        subgoal = world.random_subgoal(rng)
        assert not world.holds(subgoal)
        ok, states, actions = run_skill(world, subgoal, max_steps=250)
        assert ok and world.holds(subgoal), f"{name} seed {seed}: {subgoal.text()}"
        assert np.all(np.abs(actions) <= 1.0)


@pytest.mark.parametrize("name", NAMES)
def test_final_goal_state_satisfies_the_subgoal(name):
    world = scenarios.world_for(name, 3)
    rng = np.random.default_rng(3)
    for _ in range(5):
        subgoal = world.random_subgoal(rng)
        goals = world.goal_states(subgoal)
        assert world.holds(subgoal, goals[-1])
        assert all(g.shape == (world.spec.dim,) and np.all(np.isfinite(g)) for g in goals)
        if subgoal.skill == "push":
            assert len(goals) == 2, "push yields 'behind the block' then 'block in target'"


def test_rooms_go_goal_states_pass_through_doorways():
    world = scenarios.world_for("rooms", 0)
    start_room = world.layout.room_of(world.layout.agent_start)
    far = next(t for t in world.layout.targets if t.room != start_room)
    goals = world.goal_states(scenarios.Subgoal(skill="go", object="agent", target=far.name))
    assert len(goals) >= 3  # at least one doorway: a point on each side, then the pad


@pytest.mark.parametrize("name", NAMES)
def test_scene_description_names_everything(name):
    world = scenarios.world_for(name, 4)
    scene = SceneDescription.from_layout(world.layout)
    assert scene.objects[0].name == "agent"
    assert scene.block_names == [b.name for b in world.layout.pushable]
    assert scene.glass_names == [b.name for b in world.layout.blocks if b.fragile]
    assert scene.target_names == [t.name for t in world.layout.targets]
    text = scene.to_text()
    assert all(n in text for n in scene.block_names + scene.glass_names + scene.target_names)


def test_task_reward_counts_subgoals_in_order():
    env = gym.make("wmagent/pads-v0")
    env.reset(seed=0)
    layout = env.unwrapped.world.layout
    plan = [{"skill": "go", "object": "agent", "target": t.name} for t in layout.targets[:2]]
    env.reset(seed=0, options={"subgoals": plan})
    world = env.unwrapped.world
    total = 0.0
    for sg in plan:
        skill = scenarios.skills.ScriptedSkill(layout, scenarios.Subgoal(**sg), world.state())
        for _ in range(200):
            _, r, terminated, _, info = env.step(skill(world.state()))
            total += r
            if info["subgoals_done"] > plan.index(sg):
                break
    assert total == 2.0 and terminated and info["success"]


def test_unknown_names_are_reported_with_the_known_ones():
    world = scenarios.world_for("push", 0)
    with pytest.raises(ValueError, match="no target 'pink zone' in this push scene; targets: "):
        world.holds(scenarios.Subgoal(skill="go", object="agent", target="pink zone"))
    with pytest.raises(ValueError, match="unknown scenario 'kitchen'; choose one of: clutter, "):
        scenarios.get("kitchen")
