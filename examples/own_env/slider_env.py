"""A user's own environment: the MJCF file beside this module, as a Gymnasium env.

Importing the module registers it (and `SliderWall-v0`, the same with a wall across the
table), so `gymnasium.make("slider_env:Slider-v0")` (and every
`wmagent ... --env slider_env:Slider-v0`) works with this folder on PYTHONPATH. It declares
its observation layout (`wm_layout`): x, y are positions, vx, vy velocities; a goal is reached
within 3 cm.
"""

from pathlib import Path

import gymnasium as gym
import numpy as np
from gymnasium.envs.mujoco import MujocoEnv

XML = Path(__file__).with_name("slider.xml")


class Slider(MujocoEnv):
    xml = XML
    metadata = {"render_modes": ["human", "rgb_array", "depth_array"], "render_fps": 20}
    wm_layout = {"position_dims": (0, 1), "velocity_dims": (2, 3), "success_dims": (0, 1),
                 "success_tol": 0.03}

    def __init__(self, **kwargs):
        space = gym.spaces.Box(-np.inf, np.inf, (4,), np.float64)
        super().__init__(str(self.xml), frame_skip=5, observation_space=space, **kwargs)

    def _get_obs(self) -> np.ndarray:
        return np.concatenate([self.data.qpos, self.data.qvel])  # x, y, vx, vy

    def reset_model(self) -> np.ndarray:
        qpos = self.np_random.uniform(-0.4, 0.4, 2)
        self.set_state(qpos, np.zeros(2))
        return self._get_obs()

    def step(self, action):
        self.do_simulation(action, self.frame_skip)
        return self._get_obs(), 0.0, False, False, {}


class SliderWall(Slider):
    """slider_wall.xml: a wall at x = 0 from y = -0.5 to 0.2, the doorway north of it. The
    puck starts on either side, clear of the wall."""

    xml = XML.with_name("slider_wall.xml")

    def reset_model(self) -> np.ndarray:
        x = self.np_random.uniform(0.1, 0.45) * self.np_random.choice([-1, 1])
        self.set_state(np.array([x, self.np_random.uniform(-0.45, 0.45)]), np.zeros(2))
        return self._get_obs()


gym.register("Slider-v0", entry_point="slider_env:Slider", max_episode_steps=100)
gym.register("SliderWall-v0", entry_point="slider_env:SliderWall", max_episode_steps=200)


def wander(env: gym.Env, seed: int):
    """A collection policy (`--policy slider_env:wander`): temporally correlated random
    actions, which travel much farther than independent ones and pass the doorway."""
    rng = np.random.default_rng(seed)
    a = rng.uniform(-1, 1, 2)

    def act(obs: np.ndarray) -> np.ndarray:
        nonlocal a
        a = np.clip(0.9 * a + 0.45 * rng.standard_normal(2), -1, 1)
        return a.astype(np.float32)

    return act
