"""Balancing policies for Gymnasium's InvertedDoublePendulum, to collect episodes that last.

Random actions drop the pendulum within 4-20 steps, so random episodes hold no goal 25 or more
steps away, and a world model trained on them knows only falling. These policies are a
linear-quadratic regulator about the upright pose, computed from a finite-difference
linearisation of MuJoCo's own step of the env's model (no hand-written physics), with the
cart's set-point wandering (a new one in [-0.5, 0.5] m every 40 steps on average) and Gaussian
noise on every action:

- `make_policy` (the data): each episode draws its noise level from [0.1, 0.4]. At 0.1 the
  pendulum stays up for the whole episode; at 0.3-0.4 it falls within about 20-50 steps. A
  world model trained on upright episodes alone predicted that nothing ever falls (the
  regulator always caught it), and its plans dropped the pendulum within 10 steps; it must
  see falls to plan not to fall.
- `make_goal_policy` (the goals of `wmagent plan --env ... --policy`): noise 0.1, so that the
  goal observations K = 25, 50 and 100 steps out exist.

    wmagent collect --env InvertedDoublePendulum-v5 --policy balance:make_policy ...

with this folder on PYTHONPATH. The factories are called as `make_policy(env, seed)`.
"""

from __future__ import annotations

import mujoco
import numpy as np

NOISE = (0.1, 0.4)  # the data's per-episode action noise std (the action box is [-1, 1])
GOAL_NOISE = 0.1
SETPOINT_RANGE = 0.5  # m: where the cart is sent
SETPOINT_EVERY = 40  # steps between new set-points, on average


def lqr_gain(env, q=(1.0, 20.0, 20.0, 0.2, 1.0, 1.0), r=0.1, eps=1e-5) -> np.ndarray:
    """(nu, 2 nv) gain K of the discrete LQR about the upright rest pose, for one env step
    (`frame_skip` physics steps with the action held); u = -K (x - x_ref), x = (qpos, qvel).
    The linearisation is central differences of MuJoCo's own step (the env integrates with
    RK4, which `mjd_transitionFD` does not take)."""
    u = env.unwrapped
    model, data = u.model, mujoco.MjData(u.model)
    nv, m = model.nv, model.nu

    def step(x: np.ndarray, ctrl: np.ndarray) -> np.ndarray:
        mujoco.mj_resetData(model, data)
        data.qpos[:], data.qvel[:], data.ctrl[:] = x[:nv], x[nv:], ctrl
        for _ in range(u.frame_skip):
            mujoco.mj_step(model, data)
        return np.concatenate([data.qpos, data.qvel])

    x0, u0 = np.zeros(2 * nv), np.zeros(m)
    a = np.stack([(step(x0 + d, u0) - step(x0 - d, u0)) / (2 * eps)
                  for d in eps * np.eye(2 * nv)], 1)
    b = np.stack([(step(x0, u0 + d) - step(x0, u0 - d)) / (2 * eps)
                  for d in eps * np.eye(m)], 1)
    qm, p = np.diag(q), np.diag(q)
    for _ in range(2000):  # the Riccati recursion to its fixed point
        k = np.linalg.solve(r * np.eye(m) + b.T @ p @ b, b.T @ p @ a)
        p = qm + a.T @ p @ (a - b @ k)
    return k


def state_of(obs: np.ndarray) -> np.ndarray:
    """(x, q1, q2, xdot, q1dot, q2dot) from the env's observation (x, sin q1, sin q2,
    cos q1, cos q2, xdot, q1dot, q2dot, constraint force)."""
    return np.array([obs[0], np.arctan2(obs[1], obs[3]), np.arctan2(obs[2], obs[4]),
                     obs[5], obs[6], obs[7]])


def make_policy(env, seed: int):
    """observation -> action for the data: the regulator with a wandering set-point and
    noise of a level drawn per episode."""
    rng = np.random.default_rng(seed)
    return _noisy_regulator(env, rng, rng.uniform(*NOISE))


def make_goal_policy(env, seed: int):
    """observation -> action for the goals: the regulator with little noise."""
    return _noisy_regulator(env, np.random.default_rng(seed), GOAL_NOISE)


def _noisy_regulator(env, rng: np.random.Generator, noise: float):
    k = lqr_gain(env)
    target = np.zeros(6)

    def act(obs: np.ndarray) -> np.ndarray:
        if rng.random() < 1 / SETPOINT_EVERY:
            target[0] = rng.uniform(-SETPOINT_RANGE, SETPOINT_RANGE)
        u = -k @ (state_of(np.asarray(obs, float)) - target) + rng.normal(0, noise, 1)
        return np.clip(u, -1, 1).astype(np.float32)

    return act
