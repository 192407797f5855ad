"""Acting in the real MuJoCo world: one subgoal by latent MPC, by the simulator planner, or
by the scripted controllers; and MPC straight toward a goal state.

Every executor returns `worldmodel.mpc.SubgoalResult` and reports `worldmodel.mpc.StepInfo`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from scenarios.skills import ScriptedSkill
from scenarios.subgoals import Subgoal
from scenarios.world import World
from tools.models import ModelShelf
from worldmodel.mpc import StepInfo, SubgoalResult, run_subgoal
from worldmodel.planning import Planner, make_planner

__all__ = ["KeepWarm", "OnStep", "ScriptedExecutor", "StepInfo", "SubgoalResult",
           "WorldModelExecutor", "act", "planner_for", "planner_name", "pursue_state"]

OnStep = Callable[[StepInfo], None]


def act(world: World, subgoal: Subgoal, planner: Planner, max_steps: int,
        on_step: OnStep | None = None) -> SubgoalResult:
    """Plan with `planner` and step `world` until `subgoal` holds or `max_steps` pass."""
    torch.set_num_threads(1)  # measured: planning with two threads is far slower here
    return run_subgoal(world, subgoal, planner, max_steps, on_step=on_step)


def planner_name(kind: str, obs: str) -> str:
    """How reports name the planner of `kind` on `obs` observations."""
    if kind == "sim":
        return "simulator planner (predictive sampling in MuJoCo)"
    return f"JEPA world model ({obs}), latent {kind.upper()}"


def planner_for(kind: str, models: ModelShelf, world: World) -> Planner:
    """A fresh planner of `kind` ('cem' | 'mppi' | 'sim') for `world`'s scene."""
    model = None if kind == "sim" else models.model_for(world.layout.scenario)
    return make_planner(kind, model=model, world=world)


class KeepWarm:
    """A planner whose `reset()` only takes effect when the executor says a new attempt
    starts, so its warm start survives the graph's execution segments."""

    def __init__(self, planner: Planner):
        self.planner, self.fresh = planner, True

    def reset(self) -> None:
        if self.fresh:
            self.planner.reset()
            self.fresh = False

    def plan(self, state: np.ndarray, goal_state: np.ndarray):
        return self.planner.plan(state, goal_state)

    def shift(self, chunks: int = 1) -> None:
        self.planner.shift(chunks)

    def snapshot(self) -> dict:
        return {**self.planner.snapshot(), "fresh": self.fresh}

    def restore(self, snap: dict) -> None:
        self.planner.restore(snap)
        self.fresh = bool(snap["fresh"])


@dataclass
class WorldModelExecutor:
    """Latent MPC with the shipped world model of each scenario, or the simulator planner."""

    planner: str = "cem"
    """'cem' | 'mppi' (latent) | 'sim' (predictive sampling in MuJoCo itself)"""
    models: ModelShelf = field(default_factory=ModelShelf)
    _current: tuple | None = None
    _planner: KeepWarm | None = None
    _pending: dict | None = None

    @property
    def name(self) -> str:
        return planner_name(self.planner, self.models.obs)

    def _planner_for(self, world: World) -> KeepWarm:
        key = (id(world), world.layout.scenario, world.layout.seed)
        if self._current != key or self._planner is None:
            self._planner = KeepWarm(planner_for(self.planner, self.models, world))
            self._current = key
        return self._planner

    def reset(self) -> None:
        """The next `run` starts a new subgoal or attempt: forget the warm start then."""
        self._pending = None
        if self._planner is not None:
            self._planner.fresh = True

    def snapshot(self) -> dict | None:
        """The planner's warm start and random generator, to checkpoint between segments."""
        return None if self._planner is None else self._planner.snapshot()

    def restore(self, snap: dict | None) -> None:
        """The next `run` continues from `snap` (a `snapshot()`, maybe of another process)."""
        self._pending = snap

    def run(self, world: World, subgoal: Subgoal, max_steps: int,
            on_step: OnStep) -> SubgoalResult:
        torch.set_num_threads(1)
        planner = self._planner_for(world)
        if self._pending is not None:
            planner.restore(self._pending)
            self._pending = None
        return act(world, subgoal, planner, max_steps, on_step)


class ScriptedExecutor:
    """The scripted feedback controllers on the true state: a sanity bound, not an agent."""

    name = "scripted skills"

    def reset(self) -> None:
        pass

    def snapshot(self) -> None:
        return None  # the skills are rebuilt from the state: nothing to carry

    def restore(self, snap: dict | None) -> None:
        pass

    def run(self, world: World, subgoal: Subgoal, max_steps: int,
            on_step: OnStep) -> SubgoalResult:
        state = world.state()
        skill = ScriptedSkill(world.layout, subgoal, state)
        ms: list[float] = []
        states, actions = [state], []
        for t in range(max_steps):
            if skill.done(state):
                break
            start = time.perf_counter()
            action = skill(state)
            ms.append(1000 * (time.perf_counter() - start))
            state = world.step(action)
            states.append(state)
            actions.append(action)
            on_step(StepInfo(t, t + 1, None, ms[-1], 0, 1))
        return SubgoalResult(skill.done(state), len(states) - 1, np.asarray(states),
                             np.asarray(actions).reshape(-1, 2), ms)


def pursue_state(world: World, planner: Planner, goal: np.ndarray, budget: int,
                 done: Callable[[np.ndarray], bool], on_state: Callable[[np.ndarray], None],
                 on_step: OnStep) -> list[float]:
    """MPC straight toward the (S,) `goal` state until `done(state)` or `budget` control
    steps; `on_state` sees every state passed through. Returns the decision times (ms)."""
    torch.set_num_threads(1)
    planner.reset()
    ms: list[float] = []
    steps = 0
    while steps < budget and not done(world.state()):
        decision = planner.plan(world.state(), goal)
        ms.append(decision.ms)
        for a in np.asarray(decision.actions)[0]:
            if steps >= budget:
                break
            on_state(world.step(a))
            steps += 1
        planner.shift(1)
        on_step(StepInfo(len(ms) - 1, steps, float(decision.energy), decision.ms, 0, 1))
    return ms
