"""Ways to act for one subgoal in the real MuJoCo world."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from scenarios import World
from scenarios.skills import ScriptedSkill
from scenarios.subgoals import Subgoal


@dataclass
class ExecStep:
    step: int
    energy: float | None
    decision_ms: float


@dataclass
class ExecResult:
    success: bool
    steps: int
    states: np.ndarray  # (T+1, S): the state before and after each control step
    decision_ms: list[float] = field(default_factory=list)
    reason: str = ""


class ScriptedExecutor:
    """The scripted feedback controllers on the true state: a sanity bound, not an agent."""

    name = "scripted skills"

    def reset(self) -> None:
        pass

    def run(self, world: World, subgoal: Subgoal, max_steps: int,
            on_step: Callable[[ExecStep], None]) -> ExecResult:
        state = world.state()
        skill = ScriptedSkill(world.layout, subgoal, state)
        ms: list[float] = []
        states = [state]
        for t in range(max_steps):
            if skill.done(state):
                break
            start = time.perf_counter()
            action = skill(state)
            ms.append(1000 * (time.perf_counter() - start))
            state = world.step(action)
            states.append(state)
            on_step(ExecStep(t + 1, None, ms[-1]))
        return ExecResult(skill.done(state), len(states) - 1, np.asarray(states), ms)
