"""The MPC loop: plan, execute the first chunk in the real world, re-observe, replan.

Goal states come from the scene (`World.goal_states(subgoal, state)`), recomputed from the
current state at every decision, so they follow a block that has moved. A subgoal can yield
several goal states (a `go` through doorways, a `push`: "agent behind the block", then "block
in the zone"); `GoalSchedule` picks which one the planner aims at:

- go: the waypoints in order; the next one once the agent is within 8 cm of the current one.
  The route is recomputed only while the agent is inside a room (in a doorway it keeps the
  old route, which would otherwise jump straight to the target through a wall).
- push: "behind" until the agent is within 5 cm of the behind point, or squarely behind the
  block on its push line (within 4 cm of the line, up to 27 cm from the block's centre), then
  "in the zone"; back to "behind" whenever the agent is no longer behind the block on the push
  line (it lost the block, went past it, or fell more than 31 cm behind it). The switch is a
  rule on the observed state rather than on energies, because energy scales differ between
  goals and models, and a hysteresis on the geometry is what keeps the agent from dithering
  between the two goals.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from scenarios.layout import AGENT_RADIUS, BLOCK_RADIUS
from scenarios.relations import detour, obstacles
from scenarios.subgoals import Subgoal
from scenarios.world import World, agent_pos, block_pos, world_for
from worldmodel.checkpoint import load, load_packaged
from worldmodel.planning import Planner, make_planner

WAYPOINT_TOL = 0.08
BEHIND_TOL = 0.05
CONTACT = AGENT_RADIUS + BLOCK_RADIUS
LATERAL_TOL = 0.06
# Already squarely behind the block on its push line, a little farther back than the behind
# point: push from there rather than keep aiming at a point the learned model places a few
# centimetres off (a sort push otherwise stalled 12 cm behind the block, on the line).
SQUARE_LAT = 0.04
SQUARE_BACK = CONTACT + 0.16
# Pushing gives way to "behind" again only this far back: 4 cm of hysteresis past SQUARE_BACK.
RELEASE_BACK = SQUARE_BACK + 0.04


@dataclass
class StepInfo:
    """What `on_step` receives after each decision."""

    decision: int  # index of the decision
    step: int  # control steps executed so far
    energy: float | None  # the chosen plan's energy (None: a controller without one)
    decision_ms: float  # planner wall time
    goal_index: int  # which of the subgoal's goal states was aimed at
    n_goals: int


@dataclass
class SubgoalResult:
    """The outcome of one subgoal, judged by the scene's predicate on the true state."""

    success: bool
    steps: int  # control steps executed
    states: np.ndarray  # (T+1, S)
    actions: np.ndarray  # (T, 2)
    decision_ms: list[float] = field(default_factory=list)
    energies: list[float] = field(default_factory=list)
    goal_indices: list[int] = field(default_factory=list)
    frames: list[np.ndarray] | None = None  # (h, w, 3) uint8 per control step, when recorded
    reason: str | None = None  # why it failed; None on success

    @property
    def median_ms(self) -> float:
        return float(np.median(self.decision_ms)) if self.decision_ms else 0.0


class GoalSchedule:
    """Which goal state to aim at now (see the module docstring for the rules)."""

    def __init__(self, world: World, subgoal: Subgoal, avoid: tuple[str, ...] = ()):
        self.world, self.subgoal, self.avoid = world, subgoal, tuple(avoid)
        self.index = 0
        self._route: list[np.ndarray] | None = None

    def __call__(self, state: np.ndarray) -> tuple[list[np.ndarray], int]:
        """(goal states, index of the one to aim at) for the current `state` (S,)."""
        w, p = self.world, agent_pos(state)
        if self.subgoal.skill == "go":
            if self._route is None or not w.layout.rooms or w.layout.room_of(p) is not None:
                route = w.goal_states(self.subgoal, state, self.avoid)
                if self._route is None or len(route) != len(self._route) or any(
                        np.linalg.norm(agent_pos(a) - agent_pos(b)) > 1e-6
                        for a, b in zip(route, self._route, strict=True)):
                    self._route, self.index = route, 0
            route = self._route
            while (self.index < len(route) - 1
                   and np.linalg.norm(p - agent_pos(route[self.index])) < WAYPOINT_TOL):
                self.index += 1
            return route, self.index
        goals = w.goal_states(self.subgoal, state, self.avoid)
        i = w.layout.block_index(self.subgoal.object)
        b = block_pos(state, i)
        t = block_pos(goals[1], i)  # where the block goes next (the goal point, or a detour)
        u = (t - b) / max(np.linalg.norm(t - b), 1e-6)
        rel = p - b
        along, lat = rel @ u, rel @ np.array([-u[1], u[0]])
        if self.index == 0 and (np.linalg.norm(p - agent_pos(goals[0])) < BEHIND_TOL or (
                abs(lat) < SQUARE_LAT and -SQUARE_BACK <= along <= -CONTACT)):
            self.index = 1
        elif self.index == 1 and (along > -0.5 * CONTACT or abs(lat) > LATERAL_TOL
                                  or along < -RELEASE_BACK):
            self.index = 0
        if self.index == 0 and self.avoid:  # on the way behind the block: round what to avoid
            keep = obstacles(w.layout, state, self.avoid, AGENT_RADIUS)
            route = detour(w.layout, p, [agent_pos(goals[0])], keep, AGENT_RADIUS)
            if len(route) > 1:
                aim = goals[0].copy()
                aim[0:2] = route[0]
                goals = [aim, goals[1]]
        return goals, self.index


def run_subgoal(world: World, subgoal: Subgoal, planner: Planner, max_steps: int,
                on_step: Callable[[StepInfo], None] | None = None,
                record_frames: int = 0, execute: int = 1,
                avoid: tuple[str, ...] = ()) -> SubgoalResult:
    """Pursue `subgoal` in `world` from its current state until its predicate holds or
    `max_steps` control steps are spent. Advances `world`, so subgoals can be chained.

    `planner` is any planner from `worldmodel.planning`; each decision executes its first
    `execute` chunks. `record_frames` > 0 records a frame of that width every control step.
    `avoid` names things to route around (`World.goal_states`); the planner's own `penalty`
    keeps it clear of them between waypoints.
    """
    world.holds(subgoal)  # a name the scene lacks raises here, listing the names it has
    planner.reset()
    schedule = GoalSchedule(world, subgoal, avoid)
    state = world.state()
    states, actions = [state], []
    frames = [world.render(width=record_frames)] if record_frames else None
    result = SubgoalResult(False, 0, np.empty(0), np.empty(0), frames=frames)
    holds = world.holds(subgoal)
    last_goal = 0
    while not holds and len(actions) < max_steps:
        goals, gi = schedule(state)
        if gi != last_goal:
            planner.reset()  # the warm start aimed at another goal
            last_goal = gi
        d = planner.plan(state, goals[gi])
        for a in d.actions[:execute].reshape(-1, 2):
            state = world.step(a)
            states.append(state)
            actions.append(a)
            if frames is not None:
                frames.append(world.render(width=record_frames))
            holds = world.holds(subgoal)
            if holds or len(actions) >= max_steps:
                break
        planner.shift(execute)
        result.decision_ms.append(d.ms)
        result.energies.append(d.energy)
        result.goal_indices.append(gi)
        if on_step:
            on_step(StepInfo(len(result.decision_ms) - 1, len(actions), d.energy, d.ms, gi,
                             len(goals)))
    result.success, result.steps = holds, len(actions)
    result.states = np.asarray(states)
    result.actions = np.asarray(actions).reshape(-1, 2)
    if not holds:
        result.reason = _why(world, subgoal, state, max_steps, schedule.index)
    return result


def _why(world: World, subgoal: Subgoal, state: np.ndarray, max_steps: int, gi: int) -> str:
    t = world.layout.target(subgoal.target)
    if subgoal.skill == "go":
        d = np.linalg.norm(agent_pos(state) - np.asarray(t.pos))
        return (f"budget of {max_steps} control steps spent; the agent is {d:.2f} m from the "
                f"{t.name} (needs <= {t.radius:.2f} m)")
    b = block_pos(state, world.layout.block_index(subgoal.object))
    d = np.linalg.norm(b - np.asarray(t.pos))
    stage = "getting behind the block" if gi == 0 else "pushing it"
    return (f"budget of {max_steps} control steps spent while {stage}; the {subgoal.object} is "
            f"{d:.2f} m from the {t.name} (needs <= {t.radius:.2f} m)")


def plan_episode(scenario: str, subgoal: str, seed: int, planner: str = "cem",
                 obs: str = "state", checkpoint: Path | None = None, max_steps: int = 300,
                 video: Path | None = None) -> SubgoalResult:
    """What `wmagent plan` does: one subgoal in a seeded scene, optionally filmed."""
    torch.set_num_threads(1)  # measured: more threads make each decision far slower here
    world = world_for(scenario, seed)
    goal = Subgoal.parse(subgoal)
    model = None
    if planner != "sim" or checkpoint is not None:
        model = load(checkpoint) if checkpoint else load_packaged(scenario, obs)
        if model.config.scenario != scenario:
            raise ValueError(f"checkpoint {checkpoint} was trained on "
                             f"{model.config.scenario!r}, not {scenario!r}")
    p = make_planner(planner, model=model, world=world)
    result = run_subgoal(world, goal, p, max_steps, record_frames=256 if video else 0)
    if video:
        import imageio.v3 as iio

        video.parent.mkdir(parents=True, exist_ok=True)
        iio.imwrite(video, np.stack(result.frames), fps=10)
    return result
