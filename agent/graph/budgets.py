"""Bounds on every loop of the graph."""

from __future__ import annotations

from dataclasses import dataclass

from scenarios.subgoals import Subgoal


@dataclass(frozen=True)
class Budgets:
    """Bounds on every loop of the graph: when one runs out, the reason is recorded."""

    go_steps: int = 150
    """control steps allowed for one attempt at a `go` subgoal"""
    push_steps: int = 250
    """control steps allowed for one attempt at a `push` subgoal"""
    episode_steps: int = 1500
    """control steps for the whole episode"""
    retries: int = 1
    """extra attempts at a failed subgoal before the LLM is asked to revise"""
    revisions: int = 2
    """times the LLM may revise the plan after a subgoal failed in the real world"""
    vetoes: int = 1
    """times the imagination check may send the plan back to the LLM; a subgoal it has
    already sent back once is acted on anyway (the world model can be wrong too)"""
    clarifications: int = 2
    """questions the agent may ask the person per run"""
    restores: int = 2
    """times a push already achieved may be done again after a later subgoal knocked its
    block out of the zone (checked after every achieved subgoal)"""
    segment: int = 20
    """control steps per act node: the checkpoint granularity of execution"""

    def __post_init__(self):
        for name in ("go_steps", "push_steps", "episode_steps", "segment"):
            if getattr(self, name) < 1:
                raise ValueError(f"Budgets.{name} must be at least 1")
        for name in ("retries", "revisions", "vetoes", "clarifications", "restores"):
            if getattr(self, name) < 0:
                raise ValueError(f"Budgets.{name} must be 0 or more")

    def steps_for(self, subgoal: Subgoal) -> int:
        return self.go_steps if subgoal.skill == "go" else self.push_steps

    def recursion_limit(self, max_subgoals: int = 12) -> int:
        """A LangGraph recursion limit the budgets can never reach."""
        attempts = (max_subgoals + self.restores) * (1 + self.retries) * (1 + self.revisions)
        per_attempt = -(-max(self.go_steps, self.push_steps) // self.segment) + 2
        return 50 + attempts * per_attempt + 4 * (self.revisions + self.vetoes
                                                   + self.clarifications)
