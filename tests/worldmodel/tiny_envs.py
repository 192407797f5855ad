"""Tiny Gymnasium envs for the generic path's tests, registered on import (`tiny_envs:Point-v0`).

Point-v0: a point on a plane that an action (velocity in [-2, 2]^2) moves by 0.05 x the action
each step; it terminates when it leaves the square |x|, |y| <= 1, so episodes differ in length.
It declares its layout: both entries are positions; success is 5 cm from the goal.
"""

import gymnasium as gym
import numpy as np


class Point(gym.Env):
    wm_layout = {"position_dims": (0, 1), "success_tol": 0.05}

    def __init__(self):
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


class DictPoint(Point):
    def __init__(self):
        super().__init__()
        self.observation_space = gym.spaces.Dict({"pos": gym.spaces.Box(-2, 2, (2,)),
                                                  "goal": gym.spaces.Box(-2, 2, (2,))})

    def reset(self, seed=None, options=None):
        x, info = super().reset(seed=seed)
        return {"pos": x, "goal": np.zeros(2, np.float32)}, info


gym.register("Point-v0", entry_point="tiny_envs:Point", max_episode_steps=40)
gym.register("DictPoint-v0", entry_point="tiny_envs:DictPoint", max_episode_steps=40)
