"""The search every planner shares: a Gaussian over action chunks in the unit box, refined by
CEM or MPPI and warm-started between decisions. What scores the candidates is the subclass's:
a world model's predicted embeddings (`worldmodel.planning`) or MuJoCo itself
(`worldmodel.simulator`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

# (N, H, n_dynamic) predicted dynamic states -> (N,): a cost added to the energy (what must not
# be disturbed, say); a latent planner reads the states out of its embeddings with the probe
Penalty = Callable[[torch.Tensor], torch.Tensor]


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
    goal_frames: str = "composed"
    """How a stacking pixel planner makes the older frames of its moving goals: "composed"
    from two renders (the goal frame, and the scene without its agent; `scenarios.compose`)
    or each "rendered" (16 more renders, ~7 ms each here, at every new goal)."""
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
        if self.goal_frames not in ("composed", "rendered"):
            raise ValueError(f"goal_frames={self.goal_frames!r} is invalid: use 'composed' "
                             "or 'rendered'")
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
