"""Gymnasium environments, one per registered scenario (ids `wmagent/NAME-v0`)."""

from __future__ import annotations

from collections.abc import Sequence

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from scenarios.registry import get, names
from scenarios.subgoals import Subgoal
from scenarios.tasks import TaskMonitor
from scenarios.world import World

MAX_SPEED = 5.0  # m/s; far above anything the actuators reach, a bound for the spaces


class WMEnv(gym.Env):
    """A planar table seen from above; the agent is a puck driven by a 2-D force.

    Observation: a dict with `state` (see `scenarios.world` for its layout) and, with
    `obs="pixels"` or `"both"`, `pixels` (top-down RGB, `pixels_size` square). Action: force
    in [-1, 1]^2 held for one 0.1 s control step. Reset with `options={"subgoals": [...]}`
    to attach a task: the reward is 1 each time the next subgoal's predicate becomes true, in
    order, and the episode terminates when the last one holds.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(self, scenario: str, obs: str = "state", pixels_size: int = 64,
                 render_mode: str | None = "rgb_array", render_size: int = 256,
                 max_episode_steps: int | None = None):
        if obs not in ("state", "pixels", "both"):
            raise ValueError(f"obs must be 'state', 'pixels' or 'both', not {obs!r}")
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be 'rgb_array' or None, not {render_mode!r}")
        self.scenario = get(scenario)
        self.obs_mode, self.pixels_size = obs, pixels_size
        self.render_mode, self.render_size = render_mode, render_size
        self.max_episode_steps = max_episode_steps
        self.world = World(self.scenario.layout(0))
        self.action_space = spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
        self.observation_space = self._space(self.world)
        self.monitor = TaskMonitor(self.world.layout, [])
        self.steps = 0

    def _space(self, world: World) -> spaces.Dict:
        # fallen blocks rest on the floor past an open edge (`scenarios.world`)
        half = world.layout.arena_half + (1.1 if world.layout.open_edges else 0.1)
        low = np.full(world.spec.dim, -half, np.float32)
        high = -low
        for f in world.spec.fields:
            if f.name.endswith(".vel"):
                low[f.start:f.stop], high[f.start:f.stop] = -MAX_SPEED, MAX_SPEED
        parts: dict[str, spaces.Space] = {}
        if self.obs_mode in ("state", "both"):
            parts["state"] = spaces.Box(low, high, dtype=np.float32)
        if self.obs_mode in ("pixels", "both"):
            parts["pixels"] = spaces.Box(0, 255, (self.pixels_size, self.pixels_size, 3),
                                         dtype=np.uint8)
        return spaces.Dict(parts)

    def _obs(self) -> dict[str, np.ndarray]:
        out = {}
        if "state" in self.observation_space.spaces:
            out["state"] = self.world.state().astype(np.float32)
        if "pixels" in self.observation_space.spaces:
            out["pixels"] = self.world.render(width=self.pixels_size)
        return out

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        scene_seed = seed if seed is not None else int(self.np_random.integers(2**31))
        self.world.close()
        self.world = World(self.scenario.layout(scene_seed))
        subgoals = [Subgoal.model_validate(s) for s in (options or {}).get("subgoals", [])]
        for s in subgoals:  # unknown names fail here, with the names that exist
            self.world.holds(s)
        self.monitor = TaskMonitor(self.world.layout, subgoals)
        self.steps = 0
        self.monitor.update(self.world.state())
        return self._obs(), self._info()

    def _info(self) -> dict:
        return {"scene_seed": self.world.layout.seed, "subgoals_done": self.monitor.done,
                "subgoals_total": len(self.monitor.subgoals),
                "success": self.monitor.success(self.world.state())}

    def step(self, action: Sequence[float]):
        action = np.asarray(action, dtype=np.float64)
        if action.shape != (2,) or not np.all(np.isfinite(action)):
            raise ValueError(f"action must be 2 finite numbers in [-1, 1], got {action!r}")
        self.world.step(np.clip(action, -1.0, 1.0))
        self.steps += 1
        reward = float(self.monitor.update(self.world.state()))
        info = self._info()
        terminated = info["success"]
        truncated = (self.max_episode_steps is not None
                     and self.steps >= self.max_episode_steps and not terminated)
        return self._obs(), reward, terminated, truncated, info

    def render(self):
        if self.render_mode is None:
            return None
        return self.world.render(width=self.render_size)

    def close(self):
        self.world.close()


def register_all() -> None:
    """Register `wmagent/NAME-v0` with Gymnasium for every scenario (idempotent)."""
    for name in names():
        env_id = f"wmagent/{name}-v0"
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point="scenarios.env:WMEnv",
                         kwargs={"scenario": name})
