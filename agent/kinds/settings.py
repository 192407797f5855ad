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
    budgets: Budgets = Budgets()
    home: Path | None = None
    """run store directory (default: $WMAGENT_HOME or ./.wmagent)"""

    def __post_init__(self):
        if self.planner not in ("cem", "mppi"):
            raise ValueError(f"planner must be 'cem' or 'mppi', not {self.planner!r}")
        if self.obs not in ("state", "pixels"):
            raise ValueError(f"obs must be 'state' or 'pixels', not {self.obs!r}")
