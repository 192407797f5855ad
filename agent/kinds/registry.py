"""Agent kinds by name: the kinds the evaluation compares, built from one set of settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from agent.api import Agent
from agent.kinds.baselines import LoopAgent, build_baseline
from agent.kinds.hybrid import build_hybrid, build_llm_skills
from agent.kinds.oracles import build_oracle
from agent.kinds.settings import AgentSettings
from agent.runs.store import RunStore

Builder = Callable[[str, AgentSettings, RunStore], Agent | LoopAgent]


@dataclass(frozen=True)
class Kind:
    """One agent kind."""

    build: Builder
    needs_ground_truth: bool
    """handed the true subgoals as its plan instead of decomposing (the oracles)"""
    summary: str
    uses_llm: bool = False
    """asks the LLM (so its results depend on which LLM and adapter)"""
    planner: str | None = None
    """how it acts: 'world model' (the settings' latent planner on the shipped checkpoints),
    'sim' (planning in MuJoCo itself) or None (scripted controllers)"""


KINDS: dict[str, Kind] = {
    "hybrid": Kind(build_hybrid, False, "the LLM decomposes, the world model checks the plan "
                   "in imagination and plans each subgoal (latent MPC)", uses_llm=True,
                   planner="world model"),
    "hybrid-blind": Kind(build_hybrid, False, "the hybrid agent without the imagination check "
                         "(measures what the check adds)", uses_llm=True,
                         planner="world model"),
    "hybrid-careful": Kind(build_hybrid, False, "the hybrid agent without imagination, going "
                           "round every block its plan does not push where side effects "
                           "count (a rule in place of foresight)", uses_llm=True,
                           planner="world model"),
    "llm-skills": Kind(build_llm_skills, False, "the LLM decomposes, scripted skills act on "
                       "the true state; no world model, no foresight", uses_llm=True),
    "llm-only": Kind(build_baseline, False, "the LLM alone chooses low-level actions from a "
                     "textual state", uses_llm=True),
    "wm-only": Kind(build_baseline, False, "no decomposition: the world model plans straight "
                    "to the final goal state", planner="world model"),
    "oracle-plan": Kind(build_oracle, True, "ground-truth subgoals + the world-model planner "
                        "(isolates LLM errors)", planner="world model"),
    "oracle-sim": Kind(build_oracle, True, "ground-truth subgoals + the simulator planner "
                       "(isolates world-model errors)", planner="sim"),
    "oracle-script": Kind(build_oracle, True, "ground-truth subgoals + scripted controllers "
                          "on the true state (a sanity bound)"),
}


def kind(name: str) -> Kind:
    """The kind called `name`, or an error that lists the kinds."""
    if name not in KINDS:
        raise ValueError(f"unknown agent {name!r}; choose one of: {', '.join(KINDS)}")
    return KINDS[name]


def make_agent(agent: str = "hybrid", **settings) -> Agent | LoopAgent:
    """Build the agent called `agent` (see KINDS) with `AgentSettings` fields as keywords."""
    k = kind(agent)
    s = AgentSettings(**settings)
    return k.build(agent, s, RunStore(s.home))
