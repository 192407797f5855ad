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

from scenarios.layout import AGENT_RADIUS, BLOCK_RADIUS, Layout
from scenarios.relations import KEEP_CLEAR
from scenarios.side_effects import EDGE_AXES
from scenarios.skills import ScriptedSkill
from scenarios.subgoals import Subgoal
from scenarios.world import World
from tools.models import ModelShelf
from worldmodel.mpc import StepInfo, SubgoalResult, run_subgoal
from worldmodel.planning import Penalty, Planner, make_planner

__all__ = ["KeepWarm", "OnStep", "ScriptedExecutor", "StepInfo", "SubgoalResult",
           "WorldModelExecutor", "act", "planner_for", "planner_name", "pursue_state"]

OnStep = Callable[[StepInfo], None]

AVOID_WEIGHT = 60.0
"""energy per metre of intrusion, per predicted step: far above what a detour costs"""


CLOSE_SLACK = 0.03
"""metres a mover already inside a keep-clear distance may seem to come closer at no cost:
the probe reads a block's position with 2-3 cm of error, and a tighter slack charged every
approach to a block lying beside what it went round"""


def avoid_penalty(layout: Layout, state: np.ndarray, avoid: tuple[str, ...]) -> Penalty:
    """The planner's cost for `avoid` from the true `state` (S,): for an avoided block, the
    agent or any other block coming within KEEP_CLEAR of where the block is now; for an
    avoided pad or zone, the agent's centre inside it (with KEEP_CLEAR to spare). The avoided
    block's own predicted position is not read: the probe's error (centimetres) cannot tell a
    2 cm nudge from none, and an untouched block does not move. A mover already closer than
    that is only charged for coming closer still: otherwise every way on costs alike and the
    planner stalls where a detour left it (measured: clutter pushes stalled beside the
    blocker)."""
    blocks, places = [], []
    for name in avoid:
        if any(b.name == name for b in layout.blocks):
            i = 4 + 4 * layout.block_index(name)
            blocks.append((i, torch.tensor(np.asarray(state)[i:i + 2], dtype=torch.float32)))
        else:
            t = layout.target(name)
            places.append((torch.tensor(t.pos, dtype=torch.float32), float(t.radius)))
    movers = [4 + 4 * j for j in range(len(layout.blocks))]
    now = torch.tensor(np.asarray(state, float), dtype=torch.float32)

    def clear(mover: int, start: torch.Tensor, wanted: float) -> float:
        """`wanted`, or less where the mover (state index) is already nearer than that"""
        return min(wanted, float((now[mover:mover + 2] - start).norm()) - CLOSE_SLACK)

    def penalty(states: torch.Tensor) -> torch.Tensor:  # (N, H, n_dynamic) -> (N,)
        states = states.float()
        cost = torch.zeros(states.shape[:2])  # (N, H)
        for i, start in blocks:
            reach = clear(0, start, AGENT_RADIUS + BLOCK_RADIUS + KEEP_CLEAR)
            cost = cost + torch.relu(reach - (states[..., 0:2] - start).norm(dim=-1))
            for j in movers:  # a pushed block knocking it (centimetres: the probe is enough)
                if j != i:
                    knock = clear(j, start, 2 * BLOCK_RADIUS + KEEP_CLEAR)
                    cost = cost + torch.relu(knock - (states[..., j:j + 2] - start).norm(dim=-1))
        for centre, radius in places:
            cost = cost + torch.relu(radius + KEEP_CLEAR - (states[..., 0:2] - centre).norm(dim=-1))
        return AVOID_WEIGHT * cost.sum(-1)

    return penalty


EDGE_MARGIN = 0.10
"""metres short of falling (`scenarios.side_effects.past_edge`) where the edge cost begins"""


def edge_penalty(layout: Layout) -> Penalty | None:
    """The planner's side-effect cost at open edges: any block whose predicted centre comes
    within EDGE_MARGIN of falling off, per metre and predicted step; None without open edges.
    The blocks the plan pushes count too: a push that overshoots its zone off the table is
    a fall like any other."""
    if not layout.open_edges:
        return None
    edges = [EDGE_AXES[e] for e in layout.open_edges]
    movers = [4 + 4 * j for j in range(len(layout.blocks))]
    held = layout.arena_half + BLOCK_RADIUS

    def penalty(states: torch.Tensor) -> torch.Tensor:  # (N, H, n_dynamic) -> (N,)
        states = states.float()
        cost = torch.zeros(states.shape[:2])
        for j in movers:
            for axis, sign in edges:
                cost = cost + torch.relu(sign * states[..., j + axis] - held + EDGE_MARGIN)
        return AVOID_WEIGHT * cost.sum(-1)

    return penalty


def sum_penalties(*penalties: Penalty | None) -> Penalty | None:
    """One penalty that adds those given (None where none is)."""
    given = [p for p in penalties if p is not None]
    if len(given) < 2:
        return given[0] if given else None
    return lambda states: sum(p(states) for p in given)


def act(world: World, subgoal: Subgoal, planner: Planner, max_steps: int,
        on_step: OnStep | None = None, avoid: tuple[str, ...] = ()) -> SubgoalResult:
    """Plan with `planner` and step `world` until `subgoal` holds or `max_steps` pass,
    routing around and keeping clear of what `avoid` names."""
    torch.set_num_threads(1)  # measured: planning with two threads is far slower here
    return run_subgoal(world, subgoal, planner, max_steps, on_step=on_step, avoid=avoid)


def planner_name(kind: str, obs: str) -> str:
    """How reports name the planner of `kind` on `obs` observations."""
    if kind == "sim":
        return "simulator planner (predictive sampling in MuJoCo)"
    return f"JEPA world model ({obs}), latent {kind.upper()}"


def planner_for(kind: str, models: ModelShelf, world: World, seed: int = 0) -> Planner:
    """A fresh planner of `kind` ('cem' | 'mppi' | 'sim') for `world`'s scene, its random
    generator seeded with `seed`."""
    model = None if kind == "sim" else models.model_for(world.layout.scenario)
    return make_planner(kind, model=model, world=world, seed=seed)


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
    foresight: bool = False
    """add the side-effect cost at open edges (`edge_penalty`) to the planner's energy"""
    seed: int = 0
    """the planner's random seed (`AgentSettings.planner_seed`)"""
    _current: tuple | None = None
    _planner: KeepWarm | None = None
    _pending: dict | None = None

    @property
    def name(self) -> str:
        return planner_name(self.planner, self.models.obs)

    def _planner_for(self, world: World) -> KeepWarm:
        key = (id(world), world.layout.scenario, world.layout.seed)
        if self._current != key or self._planner is None:
            self._planner = KeepWarm(planner_for(self.planner, self.models, world, self.seed))
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

    def run(self, world: World, subgoal: Subgoal, max_steps: int, on_step: OnStep,
            avoid: tuple[str, ...] = ()) -> SubgoalResult:
        torch.set_num_threads(1)
        planner = self._planner_for(world)
        if self._pending is not None:
            planner.restore(self._pending)
            self._pending = None
        planner.planner.penalty = sum_penalties(
            avoid_penalty(world.layout, world.state(), avoid) if avoid else None,
            edge_penalty(world.layout) if self.foresight else None)
        return act(world, subgoal, planner, max_steps, on_step, avoid)


class ScriptedExecutor:
    """The scripted feedback controllers on the true state: a sanity bound, not an agent."""

    name = "scripted skills"

    def reset(self) -> None:
        pass

    def snapshot(self) -> None:
        return None  # the skills are rebuilt from the state: nothing to carry

    def restore(self, snap: dict | None) -> None:
        pass

    def run(self, world: World, subgoal: Subgoal, max_steps: int, on_step: OnStep,
            avoid: tuple[str, ...] = ()) -> SubgoalResult:
        """The scripted skills do not steer around what `avoid` names: a bound on reaching
        subgoals, not on keeping clear."""
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
