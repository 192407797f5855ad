"""Episodes of (observation, action) held in memory, and the training windows cut from them.

Episodes may differ in length. They are stored end to end: episode e has `lengths[e]` actions
and one observation more (the one after its last action), and a window never crosses from one
episode into the next. Build them from arrays in memory (`Episodes.from_lists`), from this
project's collections (`Episodes.from_arrays`, see `scenarios.collect`) or from a dataset on
disk (`worldmodel.datasets.read`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch


@dataclass
class Episodes:
    """Episodes as tensors on one device, concatenated."""

    states: torch.Tensor  # (sum(T_e + 1), S) float32 observation vectors
    actions: torch.Tensor  # (sum(T_e), A) float32, action t leads from observation t to t+1
    lengths: torch.Tensor  # (E,) int64, T_e actions per episode
    pixels: torch.Tensor | None = None  # (sum(T_e + 1), H, W, 3) uint8
    _windows: dict = field(default_factory=dict, repr=False)
    _first: torch.Tensor | None = field(default=None, repr=False)  # each obs's episode start

    @classmethod
    def from_lists(cls, observations: Sequence[np.ndarray], actions: Sequence[np.ndarray],
                   pixels: Sequence[np.ndarray] | None = None, device: str = "cpu") -> Episodes:
        """Episodes from per-episode arrays: observations[e] (T_e + 1, S), actions[e] (T_e, A),
        pixels[e] (T_e + 1, H, W, 3) uint8 or None. The lengths may differ between episodes."""
        if len(observations) != len(actions) or not len(actions):
            raise ValueError(f"got {len(observations)} observation arrays and {len(actions)} "
                             "action arrays; give one of each per episode, at least one episode")
        obs = [np.asarray(o, np.float32) for o in observations]
        act = [np.asarray(a, np.float32) for a in actions]
        for e, (o, a) in enumerate(zip(obs, act, strict=True)):
            if o.ndim != 2 or a.ndim != 2 or len(o) != len(a) + 1:
                raise ValueError(
                    f"episode {e} has observations of shape {o.shape} and actions of shape "
                    f"{a.shape}; an episode needs (T+1, S) observations and (T, A) actions: one "
                    "observation more than actions, the one after the last action")
            if o.shape[1] != obs[0].shape[1] or a.shape[1] != act[0].shape[1]:
                raise ValueError(f"episode {e} has {o.shape[1]} observation and {a.shape[1]} "
                                 f"action entries, episode 0 {obs[0].shape[1]} and "
                                 f"{act[0].shape[1]}; every episode must have the same sizes")
        px = None
        if pixels is not None:
            px = torch.from_numpy(np.concatenate([np.asarray(p, np.uint8) for p in pixels]))
            px = px.to(device)
        return cls(torch.from_numpy(np.concatenate(obs)).to(device),
                   torch.from_numpy(np.concatenate(act)).to(device),
                   torch.tensor([len(a) for a in act], dtype=torch.long), px)

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], device: str = "cpu",
                    with_pixels: bool = False) -> Episodes:
        """Episodes from a scene collection's equal-length arrays: 'state' (E, T+1, S),
        'action' (E, T, A) and, with `with_pixels`, 'pixels' (E, T+1, H, W, 3)."""
        pixels = None
        if with_pixels:
            if "pixels" not in arrays:
                raise ValueError("this collection has no frames; collect one with "
                                 "`wmagent collect SCENARIO --pixels 48`")
            pixels = torch.from_numpy(arrays["pixels"]).flatten(0, 1).to(device)
        state, action = arrays["state"], arrays["action"]
        return cls(torch.from_numpy(state).float().flatten(0, 1).to(device),
                   torch.from_numpy(action).float().flatten(0, 1).to(device),
                   torch.full((state.shape[0],), action.shape[1], dtype=torch.long), pixels)

    def to(self, device: str | torch.device) -> Episodes:
        """The same episodes on `device`."""
        px = None if self.pixels is None else self.pixels.to(device)
        return Episodes(self.states.to(device), self.actions.to(device), self.lengths, px)

    def __len__(self) -> int:
        return self.lengths.shape[0]

    @property
    def obs_starts(self) -> torch.Tensor:
        """(E,) index of each episode's first observation in `states`."""
        return torch.cumsum(self.lengths + 1, 0) - (self.lengths + 1)

    @property
    def action_starts(self) -> torch.Tensor:
        """(E,) index of each episode's first action in `actions`."""
        return torch.cumsum(self.lengths, 0) - self.lengths

    def episode(self, e: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Observations (T_e + 1, S) and actions (T_e, A) of episode `e`."""
        o, a, n = int(self.obs_starts[e]), int(self.action_starts[e]), int(self.lengths[e])
        return self.states[o: o + n + 1], self.actions[a: a + n]

    def subset(self, index: Sequence[int] | slice) -> Episodes:
        """The episodes at `index`, in that order."""
        ids = range(len(self))[index] if isinstance(index, slice) else index
        obs_starts, act_starts = self.obs_starts, self.action_starts
        o = torch.cat([torch.arange(int(obs_starts[e]), int(obs_starts[e] + self.lengths[e] + 1))
                       for e in ids])
        a = torch.cat([torch.arange(int(act_starts[e]), int(act_starts[e] + self.lengths[e]))
                       for e in ids])
        dev = self.states.device
        px = None if self.pixels is None else self.pixels[o.to(dev)]
        return Episodes(self.states[o.to(dev)], self.actions[a.to(dev)],
                        self.lengths[list(ids)], px)

    def split(self, val_fraction: float) -> tuple[Episodes, Episodes]:
        """(train, validation), the last episodes held out."""
        n_val = max(1, int(round(len(self) * val_fraction)))
        if n_val >= len(self):
            raise ValueError(f"{len(self)} episode(s) cannot be split into training and "
                             f"validation (val_fraction={val_fraction}); give more episodes")
        cut = len(self) - n_val
        return self.subset(slice(0, cut)), self.subset(slice(cut, None))

    def _starts(self, span: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(first observation, first action) index of every window of `span` actions."""
        if span not in self._windows:
            fits = self.lengths >= span
            if not bool(fits.any()):
                raise ValueError(f"the longest episode has {int(self.lengths.max())} steps but "
                                 f"a window needs horizon*chunk={span}; lower --horizon or "
                                 "collect longer episodes")
            n = (self.lengths - span + 1).clamp_min(0)  # windows per episode
            e = torch.repeat_interleave(torch.arange(len(self)), n)
            t = torch.arange(int(n.sum())) - torch.repeat_interleave(torch.cumsum(n, 0) - n, n)
            self._windows[span] = (self.obs_starts[e] + t, self.action_starts[e] + t)
        return self._windows[span]

    def history(self, frames: torch.Tensor, n: int, gap: int) -> torch.Tensor:
        """Indices (..., n) of each observation index in `frames` (...) and of the n - 1 before
        it, `gap` steps apart, oldest first; before an episode's first observation, its first
        (the scenes start at rest, so a repeated frame shows the right speed: none)."""
        if self._first is None:
            self._first = torch.repeat_interleave(self.obs_starts,
                                                  self.lengths + 1).to(self.states.device)
        back = gap * torch.arange(n - 1, -1, -1, device=frames.device)  # (n,)
        return torch.maximum(frames[..., None] - back, self._first[frames][..., None])

    def sample(self, batch: int, horizon: int, chunk: int, generator: torch.Generator,
               rest_fraction: float = 0.0, velocity_dims: Sequence[int] = (),
               frames: int = 1, gap: int = 1):
        """Random windows of `horizon` latent steps, uniform over all windows that fit inside
        one episode; `rest_fraction` of them at rest (the entries `velocity_dims` zeroed).
        With pixels and `frames` > 1 each observation is a stack of that many frames, `gap`
        control steps apart, the newest last (a single frame shows no speed).

        Returns obs (B, H+1, S), (B, H+1, h, w, 3) or (B, H+1, F, h, w, 3) stacked, states
        (B, H+1, S), actions (B, H, k, A).
        """
        span = horizon * chunk
        o0, a0 = self._starts(span)
        dev = self.states.device
        pick = torch.randint(0, len(o0), (batch,), generator=generator)
        o0, a0 = o0[pick].to(dev), a0[pick].to(dev)
        frames_idx = o0[:, None] + chunk * torch.arange(horizon + 1, device=dev)  # (B, H+1)
        steps = a0[:, None] + torch.arange(span, device=dev)  # (B, H*k)
        states = self.states[frames_idx]
        actions = self.actions[steps].view(batch, horizon, chunk, -1)
        if self.pixels is None:
            obs = states
        elif frames > 1:
            obs = self.pixels[self.history(frames_idx, frames, gap)]
        else:
            obs = self.pixels[frames_idx]
        n_rest = int(batch * rest_fraction)
        if n_rest:
            if not len(velocity_dims):
                raise ValueError("rest windows need to know which state entries are "
                                 "velocities: declare ModelConfig.velocity_dims, or use "
                                 "rest_fraction=0")
            # At rest: the first frame with every velocity zeroed, held still by zero actions.
            still = states[:n_rest, :1].clone()
            still[..., list(velocity_dims)] = 0
            states = states.clone()
            states[:n_rest] = still.expand(-1, horizon + 1, -1)
            actions = actions.clone()
            actions[:n_rest] = 0
            if self.pixels is None:
                obs = states
            else:  # at rest, every frame (and every frame of a stack) is the first one's newest
                obs = obs.clone()
                newest = obs[:n_rest, :1, -1:] if frames > 1 else obs[:n_rest, :1]
                obs[:n_rest] = newest.expand_as(obs[:n_rest])
        return obs, states, actions
