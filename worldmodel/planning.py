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
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
import torch

from worldmodel.model import WorldModel

# (N, H, D) predicted embeddings, (K, D) embeddings of the goal -> (N,)
Energy = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
# (N, H, n_dynamic) predicted dynamic states -> (N,): a cost added to the energy (what must not
# be disturbed, say); a latent planner reads the states out of its embeddings with the probe
Penalty = Callable[[torch.Tensor], torch.Tensor]
GOAL_DIRECTIONS = 8


@dataclass(frozen=True)
class PlannerConfig:
    """Search settings shared by every planner."""

    horizon: int = 6
    """H, latent steps (action chunks) planned ahead"""
    samples: int = 200
    """candidate action sequences per iteration"""
    iterations: int = 5
    """refinement rounds per decision"""
    elites: int = 20
    """CEM: best candidates the next distribution is fitted to"""
    temperature: float = 0.1
    """MPPI: softmax temperature on energies standardised over the samples"""
    init_std: float = 0.4
    """std of the sampling distribution at the start of each decision (actions are in [-1, 1])"""
    min_std: float = 0.05
    """floor on the std so that the search never freezes"""
    goal_speeds: tuple[float, ...] = (0.15, 0.3)
    """Agent speeds (m/s) at which the goal is also encoded, in 8 directions each, along the
    model's declared `goal_velocity_dims` (state models that declare them; a frame shows no
    speed); at every step the nearest of these goal embeddings counts.
    A goal is a place, not a place at rest: with the goal at rest alone, the speed needed to
    move 10 cm cost more energy than staying, and sort pushes stalled short of the point
    behind the block (sort push 92% -> 97%, BENCHMARKS.md). () encodes the goal at rest only."""
    hold: bool = False
    """True: each chunk holds one action (search H x 2) instead of k free actions (H x k x 2).
    Free actions measured far better on contact: push 90% vs 68% (BENCHMARKS.md)"""
    seed: int = 0

    def __post_init__(self):
        for name in ("horizon", "samples", "iterations", "elites"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"{name}={v!r} is invalid: use a positive integer")
        if self.elites > self.samples:
            raise ValueError(f"elites={self.elites} exceeds samples={self.samples}: "
                             "lower elites or raise samples")
        if any(not np.isfinite(v) or v <= 0 for v in self.goal_speeds):
            raise ValueError(f"goal_speeds={self.goal_speeds!r} is invalid: use positive "
                             "speeds in m/s, or () for a goal at rest only")
        if self.temperature <= 0 or self.init_std <= 0 or self.min_std < 0:
            raise ValueError("temperature and init_std must be positive and min_std >= 0; "
                             f"got {self.temperature}, {self.init_std}, {self.min_std}")


@dataclass
class Decision:
    """One planner call's answer."""

    actions: np.ndarray  # (H, k, A) in the env's units ([-1, 1] in a scene)
    energy: float  # energy of the chosen sequence
    ms: float  # wall time of the decision


class SamplingPlanner:
    """Shared machinery: a Gaussian over (H, m, A) unit-box actions, warm-started between
    decisions.

    Subclasses provide `_energies(candidates (N, H, k, A)) -> (N,)` after
    `_prepare(state, goal)`, the update rule (`_update`) and, when the env's units differ from
    the unit box, `_to_env`.
    """

    chunk: int
    action_dim: int = 2

    def __init__(self, config: PlannerConfig):
        self.config = config
        self.gen = torch.Generator().manual_seed(config.seed)
        self._mean: torch.Tensor | None = None  # (H, m, A)
        self.penalty: Penalty | None = None

    @property
    def _m(self) -> int:
        return 1 if self.config.hold else self.chunk

    def reset(self) -> None:
        self._mean = None

    def snapshot(self) -> dict:
        """What this planner carries between decisions, as plain data: the warm start and
        the random generator. `restore` of it continues the same sequence of decisions."""
        mean = None if self._mean is None else self._mean.tolist()
        return {"mean": mean, "gen": bytes(self.gen.get_state().numpy().tobytes())}

    def restore(self, snap: dict) -> None:
        """Continue from a `snapshot()` (taken by a planner with the same config)."""
        mean = snap["mean"]
        self._mean = None if mean is None else torch.tensor(mean, dtype=torch.float32)
        self.gen.set_state(torch.frombuffer(bytearray(snap["gen"]), dtype=torch.uint8))

    def shift(self, chunks: int = 1) -> None:
        """Warm start: the executed `chunks` leave the front, zeros enter at the back."""
        if self._mean is not None:
            self._mean = torch.cat([self._mean[chunks:], torch.zeros_like(self._mean[:chunks])])

    def _expand(self, a: torch.Tensor) -> torch.Tensor:
        return a.expand(*a.shape[:2], self.chunk, self.action_dim) if self.config.hold else a

    def _to_env(self, unit: torch.Tensor) -> torch.Tensor:
        """Unit-box actions -> the env's units (the identity unless a subclass says)."""
        return unit

    @torch.no_grad()
    def plan(self, state: np.ndarray, goal_state: np.ndarray) -> Decision:
        """Best action chunks (H, k, A) from `state` toward `goal_state`, both (S,)."""
        t0 = time.perf_counter()
        self._prepare(state, goal_state)
        return self._search(t0)

    @torch.no_grad()
    def _search(self, t0: float) -> Decision:
        c = self.config
        shape = (c.horizon, self._m, self.action_dim)
        mean = self._mean if self._mean is not None else torch.zeros(shape)
        std = torch.full(shape, c.init_std)
        best_a, best_e = mean, float("inf")
        for _ in range(c.iterations):
            noise = torch.randn((c.samples, *shape), generator=self.gen)
            cand = (mean + std * noise).clamp(-1, 1)  # (N, H, m, A)
            cand[0] = mean  # the warm-started plan always competes
            e = self._energies(self._to_env(self._expand(cand)))  # (N,)
            i = int(torch.argmin(e))
            if float(e[i]) < best_e:
                best_a, best_e = cand[i], float(e[i])
            mean, std = self._update(cand, e, mean, std)
        self._mean = mean
        actions = self._to_env(self._expand(best_a[None])[0])  # (H, k, A)
        return Decision(actions.numpy().astype(np.float64), best_e,
                        1e3 * (time.perf_counter() - t0))

    def _update(self, cand, e, mean, std):
        raise NotImplementedError

    def _prepare(self, state: np.ndarray, goal_state: np.ndarray) -> None:
        raise NotImplementedError

    def _energies(self, actions: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


def _cem_update(config: PlannerConfig, cand, e, mean, std):
    elite = cand[torch.topk(e, config.elites, largest=False).indices]  # (K, H, m, A)
    return elite.mean(0), elite.std(0).clamp_min(config.min_std)


def _mppi_update(config: PlannerConfig, cand, e, mean, std):
    w = torch.softmax(-(e - e.min()) / (e.std().clamp_min(1e-9) * config.temperature), 0)
    mean = (w[:, None, None, None] * cand).sum(0)
    var = (w[:, None, None, None] * (cand - mean) ** 2).sum(0)
    return mean, var.sqrt().clamp_min(config.min_std)


class LatentPlanner(SamplingPlanner):
    """Plans in the world model's latent space: energy of predicted vs goal embeddings."""

    def __init__(self, model: WorldModel, config: PlannerConfig = PlannerConfig(),
                 energy: Energy | None = None, observe: Callable | None = None):
        super().__init__(config)
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
        from worldmodel.simulator import SimulatorPlanner

        return SimulatorPlanner(world, config, chunk=model.config.chunk if model else 5)
    raise ValueError(f"unknown planner {kind!r}; choose cem, mppi or sim")


def __getattr__(name: str):
    # The simulator planner lives apart so that latent planning never imports MuJoCo; its old
    # names here still work.
    if name in ("SimulatorPlanner", "state_energy"):
        from worldmodel import simulator

        return getattr(simulator, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
