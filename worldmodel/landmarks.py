"""Far goals without hand-made waypoints: plan a route over landmarks, then each leg in latent
space.

A flat planner sees H chunks ahead; a goal behind a wall needs a detour longer than that, and
the energy (distance to the goal embedding) pulls straight into the wall. The data already
holds the way round: observations that episodes visited. `LandmarkPlanner` encodes a sample of
them (landmarks), links each to the next one of its episode (a transition the data saw) and to
its nearest landmarks of other episodes when they are as close in latent space as one such
transition, and searches that graph (Dijkstra from the goal) for a route. The latent planner
then aims at the landmark `hops` steps along the route, or at the goal itself once the route
is that short: a two-level plan in latent space, whose upper level comes from data rather
than from the scene (which an outside env cannot declare).
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass

import numpy as np
import torch

from worldmodel.data import Episodes
from worldmodel.model import WorldModel
from worldmodel.planning import CEMPlanner, Decision, PlannerConfig


@dataclass(frozen=True)
class LandmarkConfig:
    """How the landmark graph is built and used."""

    stride: int = 5
    """control steps between an episode's landmarks"""
    landmarks: int = 3000
    """landmarks at most (episodes are taken in order until there are this many)"""
    neighbours: int = 8
    """nearest landmarks of other episodes considered for a link"""
    hops: int = 4
    """aim this many landmarks along the route (hops x stride control steps should fit in the
    planner's horizon x chunk)"""

    def __post_init__(self):
        for name in ("stride", "landmarks", "neighbours", "hops"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"{name}={v!r} is invalid: use a positive integer")


class LandmarkPlanner:
    """A route over landmarks above a `CEMPlanner`; the same `plan(obs, goal_obs)` interface."""

    def __init__(self, model: WorldModel, episodes: Episodes,
                 config: LandmarkConfig = LandmarkConfig(),
                 planner_config: PlannerConfig | None = None):
        self.model, self.config = model.eval(), config
        self.inner = CEMPlanner(model, planner_config or PlannerConfig())
        obs, episode = [], []
        for e in range(len(episodes)):
            o, _ = episodes.episode(e)
            obs.append(o[:: config.stride])
            episode += [e] * len(obs[-1])
            if len(episode) >= config.landmarks:
                break
        self.obs = torch.cat(obs)[: config.landmarks]  # (M, S)
        episode = np.asarray(episode[: config.landmarks])
        with torch.no_grad():
            self.z = model.encode(self.obs)  # (M, D)
        same = episode[1:] == episode[:-1]
        step = (self.z[1:] - self.z[:-1]).norm(dim=-1)[torch.from_numpy(same)]
        # One recorded transition's length in latent space: what a link may span.
        self.radius = float(step.median())
        m = len(self.z)
        self.edges: list[list[tuple[int, float]]] = [[] for _ in range(m)]
        for i in np.flatnonzero(same):
            w = float((self.z[i + 1] - self.z[i]).norm()) / self.radius
            self.edges[i].append((i + 1, w))
            self.edges[i + 1].append((i, w))  # the way back (damped, slow dynamics)
        d = torch.cdist(self.z, self.z)  # (M, M)
        d[torch.from_numpy(episode[:, None] == episode[None, :])] = float("inf")
        near = d.topk(min(config.neighbours, m - 1), largest=False)
        for i in range(m):
            for dist, j in zip(near.values[i].tolist(), near.indices[i].tolist(), strict=True):
                if dist <= self.radius:
                    self.edges[i].append((j, dist / self.radius))
                    self.edges[j].append((i, dist / self.radius))
        self._goal_key: bytes | None = None
        self._cost = self._next = None

    def reset(self) -> None:
        self.inner.reset()

    def shift(self, chunks: int = 1) -> None:
        self.inner.shift(chunks)

    def snapshot(self) -> dict:
        return self.inner.snapshot()

    def restore(self, snap: dict) -> None:
        self.inner.restore(snap)

    @torch.no_grad()
    def _encode(self, obs: np.ndarray) -> torch.Tensor:
        return self.model.encode(torch.as_tensor(np.asarray(obs))[None])[0]

    def _attach(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(costs, indices) of the landmarks nearest `z`, in radius units."""
        d = (self.z - z).norm(dim=-1) / self.radius
        k = min(self.config.neighbours, len(d))
        near = d.topk(k, largest=False)
        return near.values, near.indices

    def _routes_to(self, goal_obs: np.ndarray) -> None:
        """Dijkstra from the goal: each landmark's cost to it and its next landmark."""
        m = len(self.z)
        cost = np.full(m, np.inf)
        nxt = np.full(m, -1)  # -1: the goal itself is next
        heap = []
        for c, i in zip(*self._attach(self._encode(goal_obs)), strict=True):
            cost[int(i)] = float(c)
            heap.append((float(c), int(i)))
        heapq.heapify(heap)
        while heap:
            c, i = heapq.heappop(heap)
            if c > cost[i]:
                continue
            for j, w in self.edges[i]:
                if c + w < cost[j]:
                    cost[j], nxt[j] = c + w, i
                    heapq.heappush(heap, (c + w, j))
        self._cost, self._next = cost, nxt

    def route(self, obs: np.ndarray, goal_obs: np.ndarray) -> list[int]:
        """Landmark indices from near `obs` to near `goal_obs` ([] when none connects)."""
        key = np.asarray(goal_obs, np.float32).tobytes()
        if key != self._goal_key:
            self._routes_to(goal_obs)
            self._goal_key = key
        c, idx = self._attach(self._encode(obs))
        total = c.numpy() + self._cost[idx.numpy()]
        if not np.isfinite(total.min()):
            return []
        i, path = int(idx[int(np.argmin(total))]), []
        while i != -1:
            path.append(i)
            i = int(self._next[i])
        return path

    def plan(self, state: np.ndarray, goal_state: np.ndarray) -> Decision:
        """Best action chunks toward the next leg of the route to `goal_state`."""
        t0 = time.perf_counter()
        path = self.route(state, goal_state)
        aim = goal_state
        if len(path) > self.config.hops:
            aim = self.obs[path[self.config.hops]].numpy()
        d = self.inner.plan(state, aim)
        d.ms = 1e3 * (time.perf_counter() - t0)
        return d
