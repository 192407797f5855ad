"""Tiny Gymnasium envs for the generic path's tests, registered on import (`tiny_envs:Point-v0`).

Point-v0: a point on a plane that an action (velocity in [-2, 2]^2) moves by 0.05 x the action
each step; it terminates when it leaves the square |x|, |y| <= 1, so episodes differ in length.
It declares its layout: both entries are positions; success is 5 cm from the goal. With
`render_mode="rgb_array"` it draws itself as a bright square on a dark 64 x 64 frame (it takes
no frame size, so the generic path resizes its frames). SeenPoint-v0 observes a Dict of its
position ("pos") and that frame ("image"), as an env that observes images does.
"""

import gymnasium as gym
import numpy as np


class Point(gym.Env):
    wm_layout = {"position_dims": (0, 1), "success_tol": 0.05}
    metadata = {"render_modes": ["rgb_array"], "render_fps": 20}

    def __init__(self, render_mode=None):
        self.render_mode = render_mode
        self.observation_space = gym.spaces.Box(-2, 2, (2,), np.float32)
        self.action_space = gym.spaces.Box(-2, 2, (2,), np.float32)

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.x = self.np_random.uniform(-0.8, 0.8, 2)
        return self.x.astype(np.float32), {}

    def step(self, action):
        self.x = self.x + 0.05 * np.clip(action, -2, 2)
        out = bool(np.abs(self.x).max() > 1)
        return self.x.astype(np.float32), 0.0, out, False, {}

    def render(self):
        frame = np.full((64, 64, 3), 20, np.uint8)
        c = np.clip(((self.x + 1.2) / 2.4 * 64).astype(int), 4, 59)  # column, row
        frame[63 - c[1] - 4: 63 - c[1] + 4, c[0] - 4: c[0] + 4] = (250, 80, 40)
        return frame


class DictPoint(Point):
    def __init__(self):
        super().__init__()
        self.observation_space = gym.spaces.Dict({"pos": gym.spaces.Box(-2, 2, (2,)),
                                                  "goal": gym.spaces.Box(-2, 2, (2,))})

    def reset(self, seed=None, options=None):
        x, info = super().reset(seed=seed)
        return {"pos": x, "goal": np.zeros(2, np.float32)}, info


class SeenPoint(Point):
    """Point, observed as a Dict: its position and the image of it (`render`'s frame)."""

    def __init__(self):
        super().__init__()
        self.observation_space = gym.spaces.Dict({
            "pos": gym.spaces.Box(-2, 2, (2,), np.float32),
            "image": gym.spaces.Box(0, 255, (64, 64, 3), np.uint8)})

    def _seen(self, x):
        return {"pos": x, "image": self.render()}

    def reset(self, seed=None, options=None):
        x, info = super().reset(seed=seed)
        return self._seen(x), info

    def step(self, action):
        x, r, term, trunc, info = super().step(action)
        return self._seen(x), r, term, trunc, info


gym.register("Point-v0", entry_point="tiny_envs:Point", max_episode_steps=40)
gym.register("DictPoint-v0", entry_point="tiny_envs:DictPoint", max_episode_steps=40)
gym.register("SeenPoint-v0", entry_point="tiny_envs:SeenPoint", max_episode_steps=40)


def backbone(size: int):
    """A 'pretrained' backbone for `ModelConfig.encoder = "tiny_envs:backbone"`: fixed weights
    (seeded, standing in for ones loaded from a file), frames (N, 3, H, W) -> (N, 128)."""
    import torch
    from torch import nn

    gen = torch.random.fork_rng()
    with gen:
        torch.manual_seed(1234)
        return nn.Sequential(nn.Conv2d(3, 8, 4, 2, 1), nn.GELU(), nn.Conv2d(8, 8, 4, 2, 1),
                             nn.GELU(), nn.AdaptiveAvgPool2d(4), nn.Flatten())
