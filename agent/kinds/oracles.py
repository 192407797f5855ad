"""Oracle agents: handed the true subgoals, so they isolate one component's errors."""

from __future__ import annotations

from agent.api import Agent
from agent.graph.contracts import Resources
from agent.kinds.settings import AgentSettings
from agent.runs.store import RunStore
from tools.acting import ScriptedExecutor, WorldModelExecutor
from tools.models import ModelShelf


def build_oracle(kind: str, s: AgentSettings, store: RunStore) -> Agent:
    """`oracle-plan` (world-model MPC), `oracle-sim` (simulator planner) or `oracle-script`
    (scripted controllers on the true state)."""
    if kind == "oracle-script":
        executor = ScriptedExecutor()
    else:
        executor = WorldModelExecutor("sim" if kind == "oracle-sim" else s.planner,
                                      ModelShelf(s.obs), seed=s.planner_seed)
    return Agent(kind, Resources(executor=executor, budgets=s.budgets), store=store,
                 needs_ground_truth=True, world_model_name=executor.name, obs=s.obs)
