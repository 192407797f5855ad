"""How to build an agent: one frozen config, checked on construction."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from agent.graph.budgets import Budgets


@dataclass(frozen=True)
class AgentSettings:
    """How to build an agent; `agent.kinds.registry.KINDS` names the kinds."""

    llm: str | None = None
    """'embedded' (default), a server base URL, or 'scripted:FILE' (a JSON list of answers;
    for tests)"""
    planner: str = "cem"
    """latent planner of the world-model agents: 'cem' or 'mppi'"""
    obs: str = "state"
    """what the world model encodes: 'state' or 'pixels'"""
    imagination: bool = True
    """check the LLM's plan in imagination before acting (hybrid)"""
    candidates: int = 4
    """hybrid, where side effects count: plans meaning the same (the LLM's and its other
    orders) the world model imagines before choosing one to carry out; 1: the LLM's alone"""
    planner_seed: int = 0
    """the latent planner's random seed, in acting and in imagination. Each seed gives the
    same episodes every time; another seed other episodes, which says how much of a result is
    the search's luck (BENCHMARKS.md, "How much a result owes to the planner's seed")"""
    budgets: Budgets = Budgets()
    home: Path | None = None
    """run store directory (default: $WMAGENT_HOME or ./.wmagent)"""

    def __post_init__(self):
        if self.planner not in ("cem", "mppi"):
            raise ValueError(f"planner must be 'cem' or 'mppi', not {self.planner!r}")
        if not isinstance(self.candidates, int) or not 1 <= self.candidates <= 16:
            raise ValueError(f"candidates must be an integer from 1 to 16, not "
                             f"{self.candidates!r}")
        if not isinstance(self.planner_seed, int) or self.planner_seed < 0:
            raise ValueError(f"planner_seed must be a non-negative integer, not "
                             f"{self.planner_seed!r}")
        if self.obs not in ("state", "pixels"):
            raise ValueError(f"obs must be 'state' or 'pixels', not {self.obs!r}")
