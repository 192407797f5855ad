"""The MPC loop for any Gymnasium env, and goal-reaching evaluation (`wmagent plan --env`).

`reach` steps an env toward a goal observation: plan from the current observation, execute
the first chunk, observe, replan, until `success(obs, goal_obs, terminated)` holds or the
budget of control steps is spent. `evaluate_goals` measures it the way the issue asks: for
each held-out seed the start is `reset(seed)`, the goal is the observation that the recorded
policy's actions reach K steps later from the same seed, and the agent plans from the start
toward it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from worldmodel.envs import EnvLayout, camera, load_policy, make
from worldmodel.model import WorldModel
from worldmodel.planning import CEMPlanner, Planner, PlannerConfig

# (observation (S,), goal observation (S,), the env's terminated flag) -> reached?
Success = Callable[[np.ndarray, np.ndarray, bool], bool]
EVAL_SEED = 1_000_000
"""first seed of held-out goal episodes: far from the seeds collections start at"""


def distance_success(dims: tuple[int, ...] = (), tol: float = 0.05) -> Success:
    """Success when the Euclidean distance over `dims` (all entries when ()) is <= `tol`."""
    idx = list(dims) or slice(None)

    def success(obs: np.ndarray, goal: np.ndarray, terminated: bool) -> bool:
        return bool(np.linalg.norm(np.asarray(obs)[idx] - np.asarray(goal)[idx]) <= tol)

    return success


def success_for(layout: EnvLayout) -> Success:
    """The env's own signal where it terminates on reaching its goal, else the declared
    distance threshold."""
    if layout.terminated_is_success:
        return lambda obs, goal, terminated: terminated
    return distance_success(layout.success_dims, layout.success_tol)


@dataclass
class Reached:
    """One `reach` run."""

    success: bool
    steps: int  # control steps executed
    observations: np.ndarray  # (T+1, S)
    actions: np.ndarray  # (T, A)
    decision_ms: list[float] = field(default_factory=list)
    reason: str | None = None  # why it failed; None on success


def reach(env, planner: Planner, obs: np.ndarray, goal_obs: np.ndarray, success: Success,
          budget: int, observe: Callable = np.asarray, execute: int = 1,
          terminated_is_success: bool = False, frame: Callable | None = None,
          goal_frames: np.ndarray | None = None, raw=None) -> Reached:
    """Step `env` from its current observation `obs` (S,) toward `goal_obs` (S,) with
    `planner` until `success` holds or `budget` control steps are spent; each decision
    executes its first `execute` chunks. `observe` maps the env's raw observations to (S,).
    A `terminated` that is not a success (a pendulum fell) ends the run as a failure.

    With `frame` (`worldmodel.envs.camera`: raw observation -> frame) a pixel model's planner
    sees only frames: the current one (`raw` is the env's raw observation that `obs` was made
    from), and `goal_frames` for the goal (a frame, or a stack of them as the goal was seen);
    the vectors serve `success` alone."""
    planner.reset()
    if frame is not None:
        planner.forget()
    obs = np.asarray(obs, np.float32)
    observations, actions, ms = [obs], [], []
    done = success(obs, goal_obs, False)
    reason = None
    while not done and reason is None and len(actions) < budget:
        d = (planner.plan(obs, goal_obs) if frame is None
             else planner.plan_obs(frame(raw), goal_frames))
        ms.append(d.ms)
        for a in d.actions[:execute].reshape(-1, d.actions.shape[-1]):
            raw, _, terminated, truncated, _ = env.step(a.astype(np.float32))
            obs = observe(raw)
            observations.append(obs)
            actions.append(a)
            done = success(obs, goal_obs, bool(terminated))
            if done:
                break
            if terminated:
                reason = ("the env reached its goal by its own signal, not ours" if
                          terminated_is_success else "the env terminated (a failure state)")
            elif truncated:
                reason = "the env truncated the episode (its time limit)"
            if reason or len(actions) >= budget:
                break
        planner.shift(execute)
    if not done and reason is None:
        reason = f"budget of {budget} control steps spent"
    dim = env.action_space.shape[0]
    return Reached(done, len(actions), np.asarray(observations),
                   np.asarray(actions, np.float32).reshape(len(actions), dim), ms, reason)


def _recorded_goal(env, observe: Callable, act: Callable, seed: int, offset: int,
                   frame: Callable | None) -> tuple[np.ndarray, np.ndarray | None, list]:
    """(start, goal, frames): the observation of `reset(seed)`, the one `act` reaches
    `offset` steps later (None if the episode ended first) and, with `frame`, the frames on
    the way (start included)."""
    raw, _ = env.reset(seed=seed)
    start = obs = observe(raw)
    frames = [] if frame is None else [frame(raw)]
    for _ in range(offset):
        raw, _, terminated, truncated, _ = env.step(act(obs))
        obs = observe(raw)
        if frame is not None:
            frames.append(frame(raw))
        if terminated or truncated:
            return start, None, frames
    return start, obs, frames


def _goal_stack(frames: list, mc) -> np.ndarray:
    """The goal as a stacking pixel model sees it: its last `frames` frames, one latent step
    (`chunk` control steps) apart, newest last (the start stands in before it)."""
    if mc.frames == 1:
        return frames[-1]
    idx = [max(0, len(frames) - 1 - mc.chunk * i) for i in reversed(range(mc.frames))]
    return np.stack([frames[i] for i in idx])


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of k successes in n trials."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    mid = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, mid - half), min(1.0, mid + half)


@dataclass
class GoalReport:
    """Goal-reaching success over held-out episodes (`wmagent plan --env ... --json`)."""

    env_id: str
    success_rate: float
    ci_low: float  # 95% Wilson interval
    ci_high: float
    episodes: int
    successes: int
    offset: int  # K: the goal is the observation K recorded steps after the start
    budget: int  # control steps allowed
    mean_steps: float  # control steps used, over all episodes
    mean_steps_success: float  # over the successful ones
    ms_per_decision: float  # median planner time
    decisions: int
    skipped: int  # seeds whose recorded episode ended before K steps, or whose goal held
    # at the start already (solved starts would inflate the rate)
    start_distance: float  # median distance from start to goal over the success dims
    failures: dict[str, int]  # reason -> count

    def to_dict(self) -> dict:
        return asdict(self)


def evaluate_goals(env_id: str, model: WorldModel, episodes: int = 100, offset: int = 25,
                   budget: int = 50, policy: str = "random", seed: int = EVAL_SEED,
                   obs_key: str | None = None, config: PlannerConfig | None = None,
                   layout: EnvLayout | None = None,
                   progress: Callable[[int, int], None] | None = None,
                   planner: Planner | None = None,
                   pixels_key: str | None = None) -> GoalReport:
    """Goal-reaching success of `model` on `episodes` held-out seeds (from `seed` on): goal =
    the observation `policy` reaches `offset` steps after `reset(seed)`; the agent starts
    from the same `reset(seed)` with `budget` steps. `planner` defaults to a `CEMPlanner`
    with `config` (a `worldmodel.landmarks.LandmarkPlanner` plans far goals). A pixel model
    plans from frames: rendered, or the images under `pixels_key` of a Dict observation."""
    torch.set_num_threads(1)  # measured: more threads make each decision far slower here
    mc = model.config
    size = mc.image_size if mc.obs == "pixels" else None
    env, observe = make(env_id, obs_key, max_episode_steps=max(offset, budget) + 1, pixels=size,
                        pixels_key=pixels_key)
    frame = camera(env, size, pixels_key) if size else None
    layout = layout or EnvLayout.from_env(env, env_id)
    success = success_for(layout)
    dims = list(layout.success_dims) or slice(None)
    planner = planner or CEMPlanner(model, config or PlannerConfig())
    wins, steps, win_steps, ms, dist, skipped = 0, [], [], [], [], 0
    failures: dict[str, int] = {}
    s = seed
    while len(steps) < episodes:
        if skipped > 10 * episodes:
            raise ValueError(f"{skipped} of {s - seed} seeds gave no goal: {policy!r} episodes "
                             f"of {env_id} end before {offset} steps (or do not move); lower "
                             "--offset or collect goals with another --policy")
        start, goal, frames = _recorded_goal(env, observe, load_policy(policy, env, s), s,
                                             offset, frame)
        s += 1
        if goal is None or success(start, goal, False):
            skipped += 1
            continue
        raw, _ = env.reset(seed=s - 1)
        r = reach(env, planner, observe(raw), goal, success, budget, observe,
                  terminated_is_success=layout.terminated_is_success, frame=frame,
                  goal_frames=None if frame is None else _goal_stack(frames, mc), raw=raw)
        dist.append(float(np.linalg.norm(start[dims] - goal[dims])))
        wins += r.success
        steps.append(r.steps)
        ms += r.decision_ms
        if r.success:
            win_steps.append(r.steps)
        else:
            key = r.reason.split(";")[0]
            failures[key] = failures.get(key, 0) + 1
        if progress:
            progress(len(steps), episodes)
    env.close()
    lo, hi = wilson(wins, episodes)
    return GoalReport(env_id, wins / episodes, lo, hi, episodes, wins, offset, budget,
                      float(np.mean(steps)), float(np.mean(win_steps)) if win_steps else 0.0,
                      float(np.median(ms)) if ms else 0.0, len(ms), skipped,
                      float(np.median(dist)), failures)
