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


class LatentPlanner(SamplingPlanner):
    """Plans in the world model's latent space: energy of predicted vs goal embeddings."""

    def __init__(self, model: WorldModel, config: PlannerConfig | None = None,
                 energy: Energy | None = None, observe: Callable | None = None):
        super().__init__(config or PlannerConfig())
        self.model = model.eval()
        self.energy = energy or model.energy
        self.chunk, self.action_dim = model.config.chunk, model.config.action_dim
        if model.config.obs == "pixels" and observe is None:
            raise ValueError("a pixel model needs observe=... (a state -> frame function); "
                             "make_planner(kind, model, world=...) builds one from the world")
        self.observe = observe or (lambda s: s)
        self._z = self._z_goal = None

    def encode_state(self, state: np.ndarray) -> torch.Tensor:
        """(D,) embedding of the observation of a true state."""
        obs = torch.as_tensor(np.asarray(self.observe(state)))[None]
        return self.model.encode(obs)[0]

    def _to_env(self, unit):
        return self.model.env_action(unit)

    @torch.no_grad()
    def goal_embeddings(self, goal_state: np.ndarray) -> torch.Tensor:
        """(K, D): the goal state encoded as given and, for a state model that declares its
        agent's planar velocity (`ModelConfig.goal_velocity_dims`), with the agent moving at
        each of `config.goal_speeds` in 8 directions; one that declares only which entries
        are velocities (`velocity_dims`) also gets the goal at rest."""
        goals = [np.asarray(goal_state, float)]
        vel = list(self.model.config.goal_velocity_dims)
        still = list(self.model.config.velocity_dims)
        if self.model.config.obs == "state" and not vel and still:
            # A goal is a configuration: the speeds it was recorded at are no part of it.
            goals.append(goals[0].copy())
            goals[-1][still] = 0
        if self.model.config.obs == "state" and vel:
            angles = 2 * np.pi * np.arange(GOAL_DIRECTIONS) / GOAL_DIRECTIONS
            for v in self.config.goal_speeds:
                for a in angles:
                    moving = goals[0].copy()
                    moving[vel] = v * np.array([np.cos(a), np.sin(a)])
                    goals.append(moving)
        obs = torch.as_tensor(np.stack([np.asarray(self.observe(g)) for g in goals]))
        return self.model.encode(obs)

    def _prepare(self, state, goal_state):
        self._z = self.encode_state(state)  # (D,)
        self._z_goal = self.goal_embeddings(goal_state)  # (K, D)

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
                 config: PlannerConfig | None = None, energy: Energy | None = None) -> Planner:
    """Build a planner. `cem`/`mppi` need `model` (and `world` for a pixel model, to render
    observations); `sim` needs `world`. `energy` overrides the model's energy."""
    if kind in ("cem", "mppi"):
        if model is None:
            raise ValueError(f"planner {kind!r} needs a world model: pass model=load_packaged(...)")
        observe = None
        if model.config.obs == "pixels":
            if world is None:
                raise ValueError("a pixel world model needs world=... to render observations")
            size = model.config.image_size
            observe = lambda s: world.render(s, size)  # noqa: E731
        cls = CEMPlanner if kind == "cem" else MPPIPlanner
        return cls(model, config or PlannerConfig(), energy=energy, observe=observe)
    if kind == "sim":
        if world is None:
            raise ValueError("planner 'sim' needs world=... (the scenarios.World to roll out in)")
        # Only here: the simulator planner needs MuJoCo and a scene, latent planning neither.
        from worldmodel.simulator import SimulatorPlanner

        return SimulatorPlanner(world, config, chunk=model.config.chunk if model else 5)
    raise ValueError(f"unknown planner {kind!r}; choose cem, mppi or sim")

