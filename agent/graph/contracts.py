"""What the graph's nodes are given: the contracts they call, bound in `Resources`.

Implementations live in `tools/` (world-model executor and imaginer, scripted executor) and
`agent/understand/` (the LLM decomposer); tests bring fakes that satisfy the same Protocols.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from agent.graph.budgets import Budgets
from agent.understand.decompose import Decomposition
from scenarios.scene import SceneDescription
from scenarios.subgoals import Subgoal
from scenarios.world import World
from tools.acting import StepInfo, SubgoalResult
from tools.imagination import Imagination


class Executor(Protocol):
    """Acts for one subgoal in the real world, for at most `max_steps` control steps."""

    name: str

    def run(self, world: World, subgoal: Subgoal, max_steps: int,
            on_step: Callable[[StepInfo], None], avoid: tuple[str, ...] = ()) -> SubgoalResult:
        """Step `world` toward `subgoal`; `on_step` gets a report after each decision.
        `avoid` names blocks not to disturb and pads or zones not to enter (`Plan.avoid`)."""
        ...

    def reset(self) -> None:
        """Forget warm starts: the next call starts a new subgoal or attempt."""

    def snapshot(self) -> dict | None:
        """What the executor carries from one call to the next (warm start, random
        generator), as plain data for the checkpoint; None when it carries nothing."""
        ...

    def restore(self, snap: dict | None) -> None:
        """The next call continues from `snap`, as if this process had made the calls."""


class Decomposer(Protocol):
    """Turns an instruction into a plan (or a question), and revises it after a failure."""

    name: str

    def decompose(self, scene: SceneDescription, instruction: str) -> Decomposition:
        ...

    def revise(self, scene: SceneDescription, instruction: str, done: list[Subgoal],
               failed: Subgoal, reason: str) -> Decomposition:
        ...

    # Optional, for `Resources.candidates` > 1:
    # candidates(scene, instruction, plan: Plan, k) -> (list[Plan], Usage), plan first.


class Imaginer(Protocol):
    """Predicts, without simulation, whether a subgoal will be reached from a state."""

    def imagine(self, world: World, state: np.ndarray, subgoal: Subgoal,
                avoid: tuple[str, ...] = ()) -> Imagination:
        """The prediction for `subgoal` from `state`, keeping clear of what `avoid` names."""
        ...


Trajectory = Callable[[str, int, np.ndarray], None]
"""(thread_id, keep, states): truncate the thread's trajectory to `keep` states and append
`states` (the video is rendered from it afterwards)"""


@dataclass
class Resources:
    """What the graph's nodes use; none of it is checkpointed."""

    executor: Executor
    decomposer: Decomposer | None = None
    imaginer: Imaginer | None = None
    budgets: Budgets = Budgets()
    trajectory: Trajectory | None = None
    careful: bool = False
    """where side effects count, always keep clear of every block the plan does not push,
    without imagining anything: the fixed rule that foresight is measured against"""
    candidates: int = 1
    """where side effects count, how many plans meaning the same (the LLM's and others,
    `agent.understand.candidates`) the imaginer compares before acting; 1: the LLM's alone.
    Needs a decomposer with `candidates` (LLMDecomposer has it)"""
