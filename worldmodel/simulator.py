"""The simulator planner: the latent planners' search, with candidates scored by rolling
them out in MuJoCo itself (sampling-based MPC as MuJoCo MPC's predictive sampling does). It is
the upper bound a learned model chases, and it needs a scene (`scenarios.World`).
"""

from __future__ import annotations

from typing import Literal

import mujoco
import numpy as np
import torch
from mujoco import rollout as mj_rollout

from scenarios.world import FRAME_SKIP
from worldmodel.sampling import PlannerConfig, SamplingPlanner, _cem_update, _mppi_update


def state_energy(states: np.ndarray, goal: np.ndarray, n_dynamic: int) -> np.ndarray:
    """Simulator cost: squared distance of positions (and 0.1 x velocities) to the goal,
    summed over the horizon. states (N, H, S), goal (S,) -> (N,)."""
    d = (states[..., :n_dynamic] - goal[:n_dynamic]) ** 2
    w = np.where(np.arange(n_dynamic) % 4 < 2, 1.0, 0.1)
    return (d * w).sum(-1).sum(-1)


SIMULATOR_DEFAULTS = PlannerConfig(hold=True)
"""The simulator is exact: holding one action per chunk (half the search dimensions) is what
measured best for it (100% on push); the learned planners do better with free actions."""


class SimulatorPlanner(SamplingPlanner):
    """The same search, scored by rolling candidates out in MuJoCo itself (no learned model).

    `update` picks the rule: 'cem' (default, so that only the model differs from CEMPlanner)
    or 'mppi'.
    """

    def __init__(self, world, config: PlannerConfig | None = None, chunk: int = 5,
                 update: Literal["cem", "mppi"] = "cem"):
        super().__init__(config or SIMULATOR_DEFAULTS)
        self.world, self.chunk, self.frame_skip = world, chunk, FRAME_SKIP
        self.update = update
        self._data = mujoco.MjData(world.model)
        self._x0 = self._goal = None

    def _update(self, cand, e, mean, std):
        rule = _cem_update if self.update == "cem" else _mppi_update
        return rule(self.config, cand, e, mean, std)

    def _prepare(self, state, goal_state):
        w = self.world
        w.write_state(self._data, state)
        spec = mujoco.mjtState.mjSTATE_FULLPHYSICS
        self._x0 = np.empty(mujoco.mj_stateSize(w.model, spec))
        mujoco.mj_getState(w.model, self._data, self._x0, spec)
        self._goal = np.asarray(goal_state, float)

    def _energies(self, actions):
        w, n = self.world, actions.shape[0]
        h, k = actions.shape[1], actions.shape[2]
        ctrl = np.repeat(actions.numpy().reshape(n, h * k, 2), self.frame_skip, axis=1)
        out, _ = mj_rollout.rollout(w.model, self._data, np.repeat(self._x0[None], n, 0), ctrl)
        out = out[:, k * self.frame_skip - 1:: k * self.frame_skip]  # (N, H, nstate)
        nq, nv = w.model.nq, w.model.nv
        states = w.states_from_physics(out[..., 1: 1 + nq], out[..., 1 + nq: 1 + nq + nv])
        states = states[..., : w.spec.n_dynamic]  # (N, H, n_dynamic)
        e = torch.from_numpy(state_energy(states, self._goal, w.spec.n_dynamic))
        if self.penalty is not None:
            e = e + self.penalty(torch.from_numpy(states)).to(e.dtype)
        return e
