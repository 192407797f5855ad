"""The real components behind the agent kinds: LLM decomposition, world-model MPC and
imagination, the simulator planner, and the two baselines."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from agent.api import Agent
from agent.kinds.baselines import LLMOnlyAgent, LoopAgent
from agent.graph.builder import Resources
from agent.runs.store import RunStore
from scenarios import World
from scenarios.subgoals import Subgoal
from scenarios.tasks import TaskMonitor


class LLMDecomposer:
    """The graph's decomposer: `agent.understand.decompose` over an LLM backend."""

    def __init__(self, backend: Any):
        self.backend = backend
        self.name = backend.describe()

    def describe(self) -> str:
        return self.backend.describe()

    def health(self) -> str:
        return self.backend.health()

    def decompose(self, scene, instruction):
        from agent.understand.decompose import decompose

        return decompose(self.backend, scene, instruction)

    def revise(self, scene, instruction, done, failed, reason):
        from agent.understand.decompose import revise

        return revise(self.backend, scene, instruction, done, failed, reason)


class _KeepWarm:
    """A planner whose `reset()` only takes effect when the executor says a new attempt
    starts, so its warm start survives the graph's execution segments."""

    def __init__(self, planner: Any):
        self.planner, self.fresh = planner, True

    def reset(self) -> None:
        if self.fresh:
            self.planner.reset()
            self.fresh = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.planner, name)


@dataclass
class WorldModelExecutor:
    """Latent MPC with the shipped world model of each scenario, or the simulator planner."""

    planner: str = "cem"  # cem | mppi | sim
    obs: str = "state"
    _models: dict = field(default_factory=dict)
    _current: tuple | None = None
    _planner: _KeepWarm | None = None

    @property
    def name(self) -> str:
        if self.planner == "sim":
            return "simulator planner (predictive sampling in MuJoCo)"
        return f"JEPA world model ({self.obs}), latent {self.planner.upper()}"

    def model_for(self, scenario: str):
        from worldmodel import load_packaged

        if scenario not in self._models:
            self._models[scenario] = load_packaged(scenario, obs=self.obs)
        return self._models[scenario]

    def _planner_for(self, world: World) -> _KeepWarm:
        from worldmodel.planning import make_planner

        key = (id(world), world.layout.scenario, world.layout.seed)
        if self._current != key or self._planner is None:
            model = None if self.planner == "sim" else self.model_for(world.layout.scenario)
            self._planner = _KeepWarm(make_planner(self.planner, model=model, world=world))
            self._current = key
        return self._planner

    def reset(self) -> None:
        if self._planner is not None:
            self._planner.fresh = True

    def run(self, world: World, subgoal: Subgoal, max_steps: int, on_step: Callable) -> Any:
        from worldmodel.mpc import run_subgoal

        torch.set_num_threads(1)  # measured: planning with two threads is far slower here
        return run_subgoal(world, subgoal, self._planner_for(world), max_steps, on_step=on_step)


@dataclass
class WorldModelImaginer:
    """The world model as a verifier of the LLM's plan: plan and read out, no simulation."""

    executor: WorldModelExecutor
    max_steps: int = 250

    def check(self, world: World, state: np.ndarray, subgoal: Subgoal) -> dict:
        from worldmodel import imagine

        model = self.executor.model_for(world.layout.scenario)
        im = imagine(model, np.asarray(state, float), subgoal, world, max_steps=self.max_steps)
        ok = bool(im.reached)
        reason = "" if ok else im.describe(world)
        return {"ok": ok, "reason": reason, "predicted_state": np.asarray(im.final_state).tolist(),
                "steps": int(len(im.actions))}


@dataclass
class WMOnlyAgent(LoopAgent):
    """No decomposition: the world model plans straight to the final goal state (the scene
    with every ground-truth subgoal achieved), as one goal."""

    executor: WorldModelExecutor = field(default_factory=WorldModelExecutor)

    def loop(self, world, instruction, gt, monitor: TaskMonitor, states, emit) -> dict:
        from worldmodel.planning import make_planner

        torch.set_num_threads(1)
        goal = world.state()
        for s in gt:
            goal = world.goal_states(s, goal)[-1]
        model = self.executor.model_for(world.layout.scenario)
        planner = make_planner(self.executor.planner, model=model, world=world)
        planner.reset()
        budget, ms = self.step_budget(gt), []
        while len(states) - 1 < budget and not monitor.success(world.state()):
            decision = planner.plan(world.state(), goal)
            ms.append(decision.ms)
            for a in np.asarray(decision.actions)[0]:
                if len(states) - 1 >= budget:
                    break
                states.append(world.step(a))
                monitor.update(states[-1])
            planner.shift(1)
            emit({"type": "mpc_step", "step": len(states) - 1, "index": monitor.done,
                  "energy": float(decision.energy), "decision_ms": decision.ms})
        return {"decision_ms_median": float(np.median(ms)) if ms else None,
                "reason": f"step budget ({budget}) exhausted"}


def build_world_model_agent(s, store: RunStore):
    """The agent of kind `s.agent` (an `AgentSettings`) with real components."""
    from agent.kinds.registry import make_backend

    kind = s.agent
    if kind in ("hybrid", "hybrid-blind"):
        backend = make_backend(s.llm)
        executor = WorldModelExecutor(s.planner, s.obs)
        imaginer = WorldModelImaginer(executor) if (s.imagination and kind == "hybrid") else None
        res = Resources(executor=executor, decomposer=LLMDecomposer(backend), imaginer=imaginer,
                        budgets=s.budgets)
        return Agent(kind, res, store=store, llm_name=backend.describe(),
                     world_model_name=executor.name)
    if kind in ("oracle-plan", "oracle-sim"):
        executor = WorldModelExecutor("sim" if kind == "oracle-sim" else s.planner, s.obs)
        return Agent(kind, Resources(executor=executor, budgets=s.budgets), store=store,
                     needs_ground_truth=True, world_model_name=executor.name)
    if kind == "wm-only":
        executor = WorldModelExecutor(s.planner, s.obs)
        return WMOnlyAgent(kind, s.budgets, store, world_model_name=executor.name,
                           executor=executor)
    if kind == "llm-only":
        backend = make_backend(s.llm)
        return LLMOnlyAgent(kind, s.budgets, store, llm_name=backend.describe(), backend=backend)
    raise ValueError(f"no wiring for agent kind {kind!r}")
