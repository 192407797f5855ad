"""Sampling planners over action chunks: CEM and MPPI in latent space (and, in
`worldmodel.simulator`, the same search scored by MuJoCo itself).

All planners share one interface:

    planner.reset()                               forget the warm start (new goal)
    planner.plan(state, goal_state) -> Decision   actions (H, k, A) and the best energy
    planner.shift(chunks)                         warm start: drop the executed chunks

`state` and `goal_state` are (S,) observation vectors: a scene's true state, or an outside
env's observation. The learned planners turn them into what the model reads (the vector
itself, or a rendered frame through `observe`), encode them and score candidates with an
energy on predicted embeddings. The search runs in the unit box [-1, 1]^A; the actions a
decision returns are in the model's (the env's) own units. With `hold=True` each chunk holds
one action, which makes the search H x A-dimensional instead of H x k x A.

Nothing here imports MuJoCo: planning in latent space needs only torch.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Literal, Protocol

import numpy as np
import torch

from worldmodel.model import WorldModel
from worldmodel.sampling import (  # noqa: F401  (the planners' shared names, imported from here)
    Decision,
    Penalty,
    PlannerConfig,
    SamplingPlanner,
    _cem_update,
    _mppi_update,
)

# (N, H, D) predicted embeddings, (K, D) embeddings of the goal -> (N,)
Energy = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
GOAL_DIRECTIONS = 8
GOAL_REUSE = 0.0
"""a stacking pixel planner re-renders a goal unless a kept goal state equals it to within
this (m, or m/s), entry by entry. Measured on push (`BENCHMARKS.md`): 0.02 cut one
episode's decisions from 146 to 24 ms, but over 100 episodes the median stayed at 140 ms (a
goal behind the block moves further than that between decisions) and success fell from 84%
to 76% (11 episodes lost, 3 won), so goals are reused only when they are the same"""
GOAL_KEEP = 4
"""goals whose rendered frames a stacking pixel planner keeps"""


class LatentPlanner(SamplingPlanner):
    """Plans in the world model's latent space: energy of predicted vs goal embeddings."""

    def __init__(self, model: WorldModel, config: PlannerConfig | None = None,
                 energy: Energy | None = None, observe: Callable | None = None,
                 moving: Callable | None = None):
        """`moving(goal_state, velocities)`, for a model that stacks frames: (1 + K, h, w, 3),
        the goal state's frame, then its frames one latent step before, its agent moving at
        each of the (K, 2) `velocities` (m/s), so that the goal can be shown moving as well as
        at rest (`config.goal_speeds`)."""
        super().__init__(config or PlannerConfig())
        self.moving = moving
        # (goal state rendered, its embeddings or None after a restore), the newest first
        self._goal_cache: list[tuple[np.ndarray, torch.Tensor | None]] = []
        self.model = model.eval()
        self.energy = energy or model.energy
        self.chunk, self.action_dim = model.config.chunk, model.config.action_dim
        if model.config.obs == "pixels" and observe is None:
            observe = _no_renderer
        self.observe = observe or (lambda s: s)
        self._z = self._z_goal = None
        self.stack = model.config.frames if model.config.obs == "pixels" else 1
        self._past: list[np.ndarray] = []  # the frames seen at earlier decisions, newest last

    def stacked(self, frame: np.ndarray, remember: bool = False) -> np.ndarray:
        """`frame` with the frames of the decisions before it, (F, h, w, 3), for a model that
        stacks F frames (one latent step apart: a decision executes one chunk); before
        there were F - 1 decisions, the oldest frame seen stands in (at the start: `frame`
        itself, as if at rest). `remember` keeps `frame` for the next decisions."""
        past = self._past[-(self.stack - 1):] or [frame]
        past = [past[0]] * (self.stack - 1 - len(past)) + past
        if remember:
            self._past = (self._past + [frame])[-(self.stack - 1):]
        return np.stack(past + [frame])

    def forget(self) -> None:
        """Forget the frames seen (a new scene: the last one's frames show nothing of it)."""
        self._past = []

    def encode_obs(self, obs: np.ndarray, remember: bool = False) -> torch.Tensor:
        """(D,) embedding of one observation: a state vector, or one frame (stacked with the
        frames seen before, for a model that stacks them)."""
        obs = np.asarray(obs)
        if self.stack > 1:
            obs = self.stacked(obs, remember)
        return self.model.encode(torch.as_tensor(obs)[None])[0]

    def encode_state(self, state: np.ndarray, remember: bool = False) -> torch.Tensor:
        """(D,) embedding of the observation of a true state."""
        return self.encode_obs(self.observe(state), remember)

    def _to_env(self, unit):
        return self.model.env_action(unit)

    @torch.no_grad()
    def goal_embeddings(self, goal_state: np.ndarray) -> torch.Tensor:
        """(K, D): the goal state encoded as given and, for a state model that declares its
        agent's planar velocity (`ModelConfig.goal_velocity_dims`), with the agent moving at
        each of `config.goal_speeds` in 8 directions; one that declares only which entries
        are velocities (`velocity_dims`) also gets the goal at rest."""
        goals = [np.asarray(goal_state, float)]
        if self.stack > 1:
            return self._stacked_goals(goals[0])
        vel = list(self.model.config.goal_velocity_dims)
        still = list(self.model.config.velocity_dims)
        if self.model.config.obs == "state" and not vel and still:
            # A goal is a configuration: the speeds it was recorded at are no part of it.
            goals.append(goals[0].copy())
            goals[-1][still] = 0
        if self.model.config.obs == "state" and vel:
            for v in self._goal_velocities():
                moving = goals[0].copy()
                moving[vel] = v
                goals.append(moving)
        return self.goal_obs_embeddings(np.stack([np.asarray(self.observe(g)) for g in goals]))

    def _goal_velocities(self) -> np.ndarray:
        """(K, 2): each of `config.goal_speeds` in each of 8 directions, speed by speed."""
        angles = 2 * np.pi * np.arange(GOAL_DIRECTIONS) / GOAL_DIRECTIONS
        unit = np.stack([np.cos(angles), np.sin(angles)], 1)
        return np.concatenate([np.zeros((0, 2))] + [v * unit for v in self.config.goal_speeds])

    def _stacked_goals(self, goal: np.ndarray) -> torch.Tensor:
        """(K, D) for a stacking pixel model: the goal frame at rest and, given `moving`,
        the goal reached at each of `config.goal_speeds` in 8 directions (the older frame of
        the stack shows the agent a step short of it; composed from two renders by default,
        `PlannerConfig.goal_frames`). The embeddings of the last `GOAL_KEEP` goals are kept,
        and each serves a goal within `GOAL_REUSE` of it: a goal that does not move is
        rendered once, not at every decision, and a subgoal's goals (behind the block, the
        block in its zone) do not evict each other. They go into the snapshot, so a resumed
        run renders the same goals as the uninterrupted one."""
        for i, (rendered, z) in enumerate(self._goal_cache):
            if rendered.shape == goal.shape and np.abs(rendered - goal).max() <= GOAL_REUSE:
                if z is not None:
                    return z
                goal = rendered  # restored: render the goal the snapshot's planner rendered
                del self._goal_cache[i]
                break
        if self.moving is not None and self.config.goal_speeds:
            now, *before = np.asarray(self.moving(goal, self._goal_velocities()))
        else:
            now, before = np.asarray(self.observe(goal)), []
        stacks = [np.stack([now] * self.stack)]
        stacks += [np.stack([older] * (self.stack - 1) + [now]) for older in before]
        z = self.model.encode(torch.as_tensor(np.stack(stacks)))
        self._goal_cache = [(np.array(goal, float), z)] + self._goal_cache[:GOAL_KEEP - 1]
        return z

    @torch.no_grad()
    def goal_obs_embeddings(self, goals: np.ndarray) -> torch.Tensor:
        """(K, D): K goal observations, (K, S) states or (K, h, w, 3) frames; a goal frame is
        a configuration at rest, so a stacking model sees it repeated."""
        obs = torch.as_tensor(np.asarray(goals))
        if self.stack > 1:
            obs = obs[:, None].expand(-1, self.stack, *obs.shape[1:])
        return self.model.encode(obs)

    def _prepare(self, state, goal_state):
        self._z = self.encode_state(state, remember=True)  # (D,)
        self._z_goal = self.goal_embeddings(goal_state)  # (K, D)

    def plan_obs(self, obs: np.ndarray, goal_obs: np.ndarray) -> Decision:
        """Plan from an observation as the model reads it (a frame, for a pixel model) toward
        a goal observation, with no state vector at all. For a model that stacks F frames the
        goal may be a stack (F, h, w, 3) as it was seen, newest last: the goal counts as
        reached both at rest (its newest frame repeated) and arriving as it was seen."""
        t0 = time.perf_counter()
        goal = np.asarray(goal_obs)
        with torch.no_grad():
            self._z = self.encode_obs(obs, remember=True)
            if self.stack > 1 and goal.ndim == 4:
                if len(goal) != self.stack:
                    raise ValueError(f"a goal stack of {len(goal)} frames for a model that "
                                     f"stacks {self.stack}")
                rest = self.goal_obs_embeddings(goal[-1:])
                self._z_goal = torch.cat([rest, self.model.encode(torch.as_tensor(goal)[None])])
            else:
                self._z_goal = self.goal_obs_embeddings(goal[None])
        return self._search(t0)

    def snapshot(self) -> dict:
        snap = super().snapshot()
        snap["past"] = [f.tobytes() for f in self._past]
        snap["past_shape"] = list(self._past[0].shape) if self._past else []
        snap["goals_rendered"] = [g.tolist() for g, _ in self._goal_cache]  # nearby goals reuse
        return snap

    def restore(self, snap: dict) -> None:
        super().restore(snap)
        shape = snap.get("past_shape") or []
        self._past = [np.frombuffer(b, np.uint8).reshape(shape).copy()
                      for b in snap.get("past", [])]
        self._goal_cache = [(np.array(g, float), None) for g in snap.get("goals_rendered", [])]

    @torch.no_grad()
    def plan_latent(self, z: torch.Tensor, z_goal: torch.Tensor) -> Decision:
        """Plan from an embedding (D,) toward a goal's embeddings (D,) or (K, D)
        (`goal_embeddings`): planning in imagination."""
        t0 = time.perf_counter()
        self._z, self._z_goal = z, z_goal
        return self._search(t0)

    def _energies(self, actions):
        n = actions.shape[0]
        z = self.model.rollout(self._z.expand(n, -1), actions)  # (N, H, D)
        e = self.energy(z, self._z_goal)
        if self.penalty is not None:
            e = e + self.penalty(self.model.probe(z))
        return e


class CEMPlanner(LatentPlanner):
    """Cross-entropy method in latent space (as V-JEPA 2-AC plans)."""

    def _update(self, cand, e, mean, std):
        return _cem_update(self.config, cand, e, mean, std)


class MPPIPlanner(LatentPlanner):
    """Model-predictive path integral: an energy-weighted average of all candidates."""

    def _update(self, cand, e, mean, std):
        return _mppi_update(self.config, cand, e, mean, std)


def _no_renderer(state: np.ndarray) -> np.ndarray:
    raise ValueError("this pixel planner cannot render a state vector: plan from frames with "
                     "plan_obs(frame, goal_frame), or pass observe=... (a state -> frame "
                     "function; make_planner(kind, model, world=...) builds one from a scene)")


def _moving(world, size: int, seconds: float, how: str, goal: np.ndarray,
            velocities: np.ndarray) -> np.ndarray:
    """(1 + K, size, size, 3): `goal`'s frame, then its frames `seconds` earlier, its agent
    moving at each of the (K, 2) `velocities`: composed from two renders, or each rendered
    (`goal_frames`)."""
    offsets = np.concatenate([np.zeros((1, 2)), -np.asarray(velocities, float) * seconds])
    return world.render_moved(goal, size, offsets, composed=how == "composed")


Kind = Literal["cem", "mppi", "sim"]


class Planner(Protocol):
    """What the MPC loop needs of a planner: one decision per call, a warm start to shift."""

    def reset(self) -> None:
        """Forget the warm start (a new subgoal, or a new goal state)."""

    def plan(self, state: np.ndarray, goal_state: np.ndarray) -> Decision:
        """The best action chunks from the (S,) `state` toward the (S,) `goal_state`."""
        ...

    def shift(self, chunks: int = 1) -> None:
        """Advance the warm start by `chunks` executed chunks."""

    def snapshot(self) -> dict:
        """Everything kept between decisions, as plain data (it goes into a checkpoint)."""
        ...

    def restore(self, snap: dict) -> None:
        """Continue exactly where `snapshot()` was taken."""


def make_planner(kind: Kind, model: WorldModel | None = None, world=None,
                 config: PlannerConfig | None = None, energy: Energy | None = None,
                 seed: int | None = None) -> Planner:
    """Build a planner. `cem`/`mppi` need `model` (and `world` for a pixel model, to render
    observations); `sim` needs `world`. `energy` overrides the model's energy; `seed`, when
    given, replaces the random seed of `config` (or of the kind's own defaults)."""
    if kind in ("cem", "mppi"):
        if model is None:
            raise ValueError(f"planner {kind!r} needs a world model: pass model=load_packaged(...)")
        observe = moving = None
        if model.config.obs == "pixels":
            if world is None:
                raise ValueError("a pixel world model needs world=... to render observations")
            size = model.config.image_size
            observe = lambda s: world.render(s, size)  # noqa: E731
            if model.config.frames > 1:
                moving = partial(_moving, world, size, model.config.chunk * world.control_dt,
                                 (config or PlannerConfig()).goal_frames)
        cls = CEMPlanner if kind == "cem" else MPPIPlanner
        return cls(model, _seeded(config or PlannerConfig(), seed), energy=energy,
                   observe=observe, moving=moving)
    if kind == "sim":
        if world is None:
            raise ValueError("planner 'sim' needs world=... (the scenarios.World to roll out in)")
        # Only here: the simulator planner needs MuJoCo and a scene, latent planning neither.
        from worldmodel.simulator import SIMULATOR_DEFAULTS, SimulatorPlanner

        return SimulatorPlanner(world, _seeded(config or SIMULATOR_DEFAULTS, seed),
                                chunk=model.config.chunk if model else 5)
    raise ValueError(f"unknown planner {kind!r}; choose cem, mppi or sim")


def _seeded(config: PlannerConfig, seed: int | None) -> PlannerConfig:
    """`config` with its random seed replaced by `seed`, when one is given."""
    return config if seed is None else replace(config, seed=seed)
