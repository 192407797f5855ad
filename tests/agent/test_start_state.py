"""`Agent.run(start_state=...)`: an episode can start where the last one ended (the chat)."""

import sys
from pathlib import Path

import numpy as np
import pytest

from agent.api import Agent
from agent.graph.contracts import Resources
from agent.runs.store import RunStore
from scenarios import world_for
from tools.acting import ScriptedExecutor

sys.path.insert(0, str(Path(__file__).parent))
from fakes import QueuedDecomposer  # noqa: E402


def test_second_episode_starts_where_the_first_ended(tmp_path):
    layout = world_for("pads", 0).layout
    a, b = layout.targets[0].name, layout.targets[1].name
    go = [[{"skill": "go", "object": "agent", "target": t}] for t in (a, b)]
    agent = Agent("hybrid", Resources(executor=ScriptedExecutor(),
                                      decomposer=QueuedDecomposer(go)), store=RunStore(tmp_path))
    first = agent.run("pads", f"go to the {a}", seed=0)
    end = agent.sim_state(first.thread_id)
    second = agent.run("pads", f"go to the {b}", seed=0, start_state=end)
    assert first.success and second.success
    start = agent.store.trajectory(second.thread_id)[0]
    assert np.allclose(start, end), "the second trajectory begins at the first one's end"
    assert not np.allclose(start[:2], layout.agent_start)


def test_start_state_of_another_scene_is_refused(tmp_path):
    agent = Agent("hybrid", Resources(executor=ScriptedExecutor(),
                                      decomposer=QueuedDecomposer([])), store=RunStore(tmp_path))
    other = world_for("pads", 1).state()
    with pytest.raises(ValueError, match="belongs to another scene"):
        agent.run("pads", "go", seed=0, start_state=other)
    with pytest.raises(ValueError, match="this scene needs"):
        agent.run("pads", "go", seed=0, start_state=[0.0, 1.0])
    assert agent.store.runs() == [], "a refused start state leaves no run behind"


def test_a_glass_broken_in_one_episode_is_still_broken_in_the_next(tmp_path):
    layout = world_for("fragile", 3).layout
    zone = layout.targets[0].name
    agent = Agent("hybrid", Resources(executor=ScriptedExecutor(), decomposer=QueuedDecomposer(
        [[{"skill": "go", "object": "agent", "target": zone}]])), store=RunStore(tmp_path))
    start = world_for("fragile", 3).state()
    start[-1] = 1.0  # the glass broke in an earlier episode
    rec = agent.run("fragile", f"go to the {zone}", seed=3, start_state=start.tolist())
    assert rec.status in ("done", "failed") and agent.sim_state(rec.thread_id)[-1] == 1.0
    assert not [e for e in rec.side_effects if e["kind"] == "broke"], "broken before it began"
