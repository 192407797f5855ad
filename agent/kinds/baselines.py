"""Baselines without the graph's decomposition: the pure-LLM planner and the world model alone.

They share the `Agent.run` interface and the run store (trajectory, video, record) so the
evaluation treats every agent alike.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from agent.graph import events as ev
from agent.graph.budgets import Budgets
from agent.kinds.settings import AgentSettings
from agent.llm import make_backend
from agent.llm.base import LLMBackend
from agent.runs.records import EpisodeRecord
from agent.runs.store import RunStore
from scenarios.registry import get
from scenarios.subgoals import Subgoal
from scenarios.tasks import TaskMonitor
from scenarios.video import write_video
from scenarios.world import World, agent_vel
from tools.acting import planner_for, planner_name, pursue_state
from tools.models import ModelShelf
from tools.scene import describe


@dataclass
class LoopAgent:
    """Common scaffolding: a closed loop in one process, judged on the true state."""

    kind: str
    budgets: Budgets = Budgets()
    store: RunStore = field(default_factory=RunStore)
    llm_name: str = ""
    world_model_name: str = ""
    obs: str = "state"
    """what the world model reads (state or pixels): kept with each run, so a resume reads
    the same"""
    needs_ground_truth: bool = True
    video_size: int = 256

    def step_budget(self, subgoals: list[Subgoal]) -> int:
        """The hybrid agent's budget for one attempt at each subgoal, capped per episode."""
        return min(self.budgets.episode_steps, sum(self.budgets.steps_for(s) for s in subgoals))

    def run(self, scenario: str, instruction: str, seed: int = 0,
            subgoals: list[Subgoal | dict] | None = None, video: str | Path | None = None,
            thread_id: str | None = None, on_event: Callable[[ev.Event], None] | None = None,
            answer: Any = None) -> EpisodeRecord:
        get(scenario)
        if not subgoals:
            raise ValueError(f"the {self.kind} agent needs the ground-truth subgoals to judge "
                             "(and, for wm-only, to build the final goal): pass subgoals=[...]")
        gt = [Subgoal.model_validate(s) for s in subgoals]
        thread_id = thread_id or uuid.uuid4().hex[:12]
        world = World(get(scenario).layout(int(seed)))
        for s in gt:
            world.holds(s)
        self.store.save_run(thread_id, self.kind, scenario, int(seed), instruction, "running",
                            obs=self.obs)
        monitor = TaskMonitor(world.layout, gt, start=world.state())
        states = [world.state()]
        emit = on_event or (lambda e: None)
        start = time.perf_counter()
        stats = self.loop(world, instruction, gt, monitor, states, emit)
        seconds = time.perf_counter() - start
        self.store.append_trajectory(thread_id, 0, np.asarray(states))
        success = monitor.success(world.state())
        effects = monitor.side_effects(world.state())
        emit(ev.Report("done" if success else "failed", success,
                       side_effects=[e.text() for e in effects]))
        if effects and monitor.consequences and monitor.done == len(gt):
            stats["reason"] = "side effect: " + "; ".join(e.text() for e in effects)
        rec = EpisodeRecord(
            agent=self.kind, scenario=scenario, seed=int(seed), instruction=instruction,
            thread_id=thread_id, status="done" if success else "failed",
            reason="" if success else stats.pop("reason", "not every subgoal was achieved"),
            side_effects=[e.record() for e in effects],
            ground_truth=gt, subgoals_total=len(gt), subgoals_done=monitor.done,
            success=success, steps=len(states) - 1, seconds=seconds,
            llm=self.llm_name, world_model=self.world_model_name,
            **{k: v for k, v in stats.items() if k != "reason"})
        if video:
            rec.video = str(write_video([world.render(s, self.video_size) for s in states], video))
        world.close()
        self.store.save_run(thread_id, self.kind, scenario, int(seed), instruction, rec.status,
                            rec.model_dump(mode="json"), obs=self.obs)
        return rec

    def loop(self, world: World, instruction: str, gt: list[Subgoal], monitor: TaskMonitor,
             states: list[np.ndarray], emit: Callable[[ev.Event], None]) -> dict:
        raise NotImplementedError


class Move(BaseModel):
    """The pure-LLM planner's answer: where to push the puck for the next second."""

    dx: float = Field(ge=-1, le=1, description="force along x (east), -1 to 1")
    dy: float = Field(ge=-1, le=1, description="force along y (north), -1 to 1")


LLM_ONLY_SYSTEM = (
    "You drive a round puck (the agent) on a table seen from above; x grows to the east, y "
    "to the north, positions are in metres. Each turn you choose a force (dx, dy), each "
    "between -1 and 1, that is applied for the next second; the puck pushes blocks it runs "
    "into. Carry out the person's instruction in order. Answer only with JSON "
    '{"dx": number, "dy": number}.'
)


@dataclass
class LLMOnlyAgent(LoopAgent):
    """The pure-LLM planner: the LLM reads the scene as text and picks the force every chunk."""

    backend: LLMBackend | None = None
    chunk: int = 20
    """control steps (2 s) each LLM answer is held for: with ~1.5 s per embedded LLM call,
    a shorter chunk makes one episode cost minutes"""

    def loop(self, world, instruction, gt, monitor, states, emit) -> dict:
        calls = prompt = completion = 0
        llm_seconds = 0.0
        budget = self.step_budget(gt)
        reason = f"step budget ({budget}) exhausted"
        # No "done" answer: a small model declares victory at once; the episode ends when the
        # task monitor sees the task done on the true state, or the budget runs out.
        while len(states) - 1 < budget and not monitor.success(world.state()):
            scene = describe(world)
            elapsed = len(states) - 1
            v = agent_vel(states[-1])
            messages = [
                {"role": "system", "content": LLM_ONLY_SYSTEM},
                {"role": "user", "content": f"{scene.to_text()}\nAgent velocity: "
                 f"({v[0]:.2f}, {v[1]:.2f}) m/s. Time used: {elapsed / 10:.0f}"
                 f" of {budget / 10:.0f} s.\nInstruction: {instruction}"},
            ]
            move, usage = self.backend.complete(messages, Move)
            calls += 1
            prompt += usage.prompt_tokens
            completion += usage.completion_tokens
            llm_seconds += usage.seconds
            for _ in range(min(self.chunk, budget - elapsed)):
                states.append(world.step(np.array([move.dx, move.dy])))
                monitor.update(states[-1])
                emit(ev.MpcStep(len(states) - 1, monitor.done, None, 1000 * usage.seconds))
        return {"llm_calls": calls, "prompt_tokens": prompt, "completion_tokens": completion,
                "llm_seconds": llm_seconds, "reason": reason}


@dataclass
class WMOnlyAgent(LoopAgent):
    """No decomposition: the world model plans straight to the final goal state (the scene
    with every ground-truth subgoal achieved), as one goal."""

    planner: str = "cem"
    models: ModelShelf = field(default_factory=ModelShelf)

    def loop(self, world, instruction, gt, monitor: TaskMonitor, states, emit) -> dict:
        goal = world.state()
        for s in gt:
            goal = world.goal_states(s, goal)[-1]
        budget = self.step_budget(gt)

        def on_state(state: np.ndarray) -> None:
            states.append(state)
            monitor.update(state)

        ms = pursue_state(world, planner_for(self.planner, self.models, world), goal, budget,
                          monitor.success, on_state, lambda info: emit(ev.MpcStep(
                              len(states) - 1, monitor.done, info.energy, info.decision_ms)))
        return {"decision_ms_median": float(np.median(ms)) if ms else None,
                "reason": f"step budget ({budget}) exhausted"}


def build_baseline(kind: str, s: AgentSettings, store: RunStore) -> LoopAgent:
    """`llm-only` (the LLM picks the force) or `wm-only` (the world model alone)."""
    if kind == "llm-only":
        backend = make_backend(s.llm)
        return LLMOnlyAgent(kind, s.budgets, store, llm_name=backend.describe(),
                            obs=s.obs, backend=backend)
    return WMOnlyAgent(kind, s.budgets, store, world_model_name=planner_name(s.planner, s.obs),
                       obs=s.obs, planner=s.planner, models=ModelShelf(s.obs))
