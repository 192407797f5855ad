"""The graph's decomposer: `decompose` and `revise` over an LLM backend."""

from __future__ import annotations

from agent.llm.base import LLMBackend, Usage
from agent.understand.candidates import candidates
from agent.understand.decompose import Decomposition, decompose, revise
from scenarios.scene import SceneDescription
from scenarios.subgoals import Plan, Subgoal


class LLMDecomposer:
    """Satisfies `agent.graph.contracts.Decomposer` with a real LLM backend."""

    def __init__(self, backend: LLMBackend):
        self.backend = backend
        self.name = backend.describe()

    def describe(self) -> str:
        return self.backend.describe()

    def health(self) -> str:
        return self.backend.health()

    def decompose(self, scene: SceneDescription, instruction: str) -> Decomposition:
        return decompose(self.backend, scene, instruction)

    def revise(self, scene: SceneDescription, instruction: str, done: list[Subgoal],
               failed: Subgoal, reason: str) -> Decomposition:
        return revise(self.backend, scene, instruction, done, failed, reason)

    def candidates(self, scene: SceneDescription, instruction: str, plan: Plan,
                   k: int) -> tuple[list[Plan], Usage]:
        """At most `k` plans meaning `plan`, `plan` first (`agent.understand.candidates`)."""
        return candidates(self.backend, scene, instruction, plan, k)
