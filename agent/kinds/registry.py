"""Building agents by name: the kinds the evaluation compares, from one set of settings."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from agent.api import Agent
from agent.kinds.oracles import ScriptedExecutor
from agent.graph.builder import Budgets, Resources
from agent.runs.store import RunStore

AGENTS = {
    "hybrid": "the LLM decomposes, the world model checks the plan in imagination and plans "
              "each subgoal (latent MPC)",
    "hybrid-blind": "the hybrid agent without the imagination check (measures what the check "
                    "adds)",
    "llm-only": "the LLM alone chooses low-level actions from a textual state",
    "wm-only": "no decomposition: the world model plans straight to the final goal state",
    "oracle-plan": "ground-truth subgoals + the world-model planner (isolates LLM errors)",
    "oracle-sim": "ground-truth subgoals + the simulator planner (isolates world-model errors)",
    "oracle-script": "ground-truth subgoals + scripted controllers on the true state "
                     "(a sanity bound)",
}


@dataclass(frozen=True)
class AgentSettings:
    """How to build an agent."""

    agent: str = "hybrid"
    """one of AGENTS"""
    llm: str | None = None
    """'embedded' (default), a server base URL, or 'scripted:FILE' (a JSON list of answers;
    for tests)"""
    planner: str = "cem"
    """latent planner of the world-model agents: 'cem' or 'mppi'"""
    obs: str = "state"
    """what the world model encodes: 'state' or 'pixels'"""
    imagination: bool = True
    """check the LLM's plan in imagination before acting (hybrid)"""
    budgets: Budgets = Budgets()
    home: Path | None = None
    """run store directory (default: $WMAGENT_HOME or ./.wmagent)"""

    def __post_init__(self):
        if self.agent not in AGENTS:
            raise ValueError(f"unknown agent {self.agent!r}; choose one of: "
                             f"{', '.join(AGENTS)}")
        if self.planner not in ("cem", "mppi"):
            raise ValueError(f"planner must be 'cem' or 'mppi', not {self.planner!r}")
        if self.obs not in ("state", "pixels"):
            raise ValueError(f"obs must be 'state' or 'pixels', not {self.obs!r}")


def make_backend(spec: str | None):
    """The LLM backend for `spec`: None/'embedded', a URL, or 'scripted:FILE'."""
    from agent.llm import ScriptedBackend
    from agent.llm import make_backend as make_llm

    if spec and spec.startswith("scripted:"):
        path = Path(spec.split(":", 1)[1])
        if not path.exists():
            raise ValueError(f"scripted LLM answers file {path} does not exist")
        return ScriptedBackend(json.loads(path.read_text()))
    return make_llm(spec or "embedded")


def make_agent(agent: str = "hybrid", **settings) -> Agent:
    """Build the agent called `agent` (see AGENTS) with `AgentSettings` fields as keywords."""
    s = AgentSettings(agent=agent, **settings)
    store = RunStore(s.home)
    if s.agent == "oracle-script":
        return Agent("oracle-script", Resources(executor=ScriptedExecutor(), budgets=s.budgets),
                     store=store, needs_ground_truth=True, world_model_name="scripted skills")
    from agent.kinds.hybrid import build_world_model_agent

    return build_world_model_agent(s, store)
