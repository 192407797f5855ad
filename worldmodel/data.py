"""Training windows cut from collected episodes (see `scenarios.collect` for the format)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class Episodes:
    """Collected episodes as tensors on one device."""

    states: torch.Tensor  # (E, T+1, S) float32
    actions: torch.Tensor  # (E, T, 2) float32
    pixels: torch.Tensor | None = None  # (E, T+1, H, W, 3) uint8
    n_dynamic: int = 0  # leading state entries that move (agent and blocks: x, y, vx, vy each)

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], device: str = "cpu",
                    with_pixels: bool = False, n_dynamic: int = 0) -> Episodes:
        pixels = None
        if with_pixels:
            if "pixels" not in arrays:
                raise ValueError("this collection has no frames; collect one with "
                                 "`wmagent collect SCENARIO --pixels 48`")
            pixels = torch.from_numpy(arrays["pixels"]).to(device)
        return cls(torch.from_numpy(arrays["state"]).float().to(device),
                   torch.from_numpy(arrays["action"]).float().to(device), pixels, n_dynamic)

    def __len__(self) -> int:
        return self.states.shape[0]

    def split(self, val_fraction: float) -> tuple[Episodes, Episodes]:
        """(train, validation), the last episodes held out."""
        n_val = max(1, int(round(len(self) * val_fraction)))
        cut = len(self) - n_val

        def part(sl: slice) -> Episodes:
            px = None if self.pixels is None else self.pixels[sl]
            return Episodes(self.states[sl], self.actions[sl], px, self.n_dynamic)

        return part(slice(0, cut)), part(slice(cut, None))

    def sample(self, batch: int, horizon: int, chunk: int, generator: torch.Generator,
               rest_fraction: float = 0.0):
        """Random windows of `horizon` latent steps; `rest_fraction` of them at rest.

        Returns obs (B, H+1, S) or (B, H+1, h, w, 3), states (B, H+1, S), actions (B, H, k, 2).
        """
        e_n, t_n = self.actions.shape[:2]
        span = horizon * chunk
        if span > t_n:
            raise ValueError(f"episodes have {t_n} steps but a window needs horizon*chunk="
                             f"{span}; lower --horizon or collect longer episodes")
        dev = self.states.device
        e = torch.randint(0, e_n, (batch,), generator=generator).to(dev)
        t0 = torch.randint(0, t_n - span + 1, (batch,), generator=generator).to(dev)
        frames = t0[:, None] + chunk * torch.arange(horizon + 1, device=dev)  # (B, H+1)
        steps = t0[:, None] + torch.arange(span, device=dev)  # (B, H*k)
        states = self.states[e[:, None], frames]
        actions = self.actions[e[:, None], steps].view(batch, horizon, chunk, -1)
        obs = states if self.pixels is None else self.pixels[e[:, None], frames]
        n_rest = int(batch * rest_fraction)
        if n_rest:
            # At rest: the first frame with every velocity zeroed, held still by zero actions.
            still = states[:n_rest, :1].clone()
            vel = [i for i in range(self.n_dynamic) if i % 4 >= 2]
            still[..., vel] = 0
            states = states.clone()
            states[:n_rest] = still.expand(-1, horizon + 1, -1)
            actions = actions.clone()
            actions[:n_rest] = 0
            if self.pixels is None:
                obs = states
            else:  # frames show no velocity: repeat the first one
                obs = obs.clone()
                obs[:n_rest] = obs[:n_rest, :1].expand(-1, horizon + 1, -1, -1, -1)
        return obs, states, actions
