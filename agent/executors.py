"""Ways to act for one subgoal in the real MuJoCo world."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

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
        for t in range(max_steps):
            if skill.done(state):
                return ExecResult(True, t, ms)
            start = time.perf_counter()
            action = skill(state)
            ms.append(1000 * (time.perf_counter() - start))
            state = world.step(action)
            on_step(ExecStep(t + 1, None, ms[-1]))
        return ExecResult(skill.done(state), max_steps, ms)
