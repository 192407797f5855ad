"""Scripted skills: feedback controllers on the true state.

They collect useful data (the random policy rarely touches a block) and bound what any planner
could do in these scenes. They are not part of the agent.
"""

from __future__ import annotations

import numpy as np

from scenarios.layout import AGENT_RADIUS, BLOCK_RADIUS, Layout
from scenarios.relations import goal_point
from scenarios.subgoals import Subgoal
from scenarios.world import World, agent_pos, agent_vel, block_pos, go_waypoints, subgoal_holds

KP, KD = 6.0, 1.5
CONTACT = AGENT_RADIUS + BLOCK_RADIUS


def _toward(pos: np.ndarray, vel: np.ndarray, goal: np.ndarray, speed: float = 1.0) -> np.ndarray:
    """PD action that brings a point mass to rest at `goal`."""
    a = KP * (goal - pos) - KD * vel
    n = np.linalg.norm(a)
    return a if n <= speed else a * (speed / n)


class ScriptedSkill:
    """Closed-loop controller for one subgoal. Call it with the state; it returns an action."""

    def __init__(self, layout: Layout, subgoal: Subgoal, state: np.ndarray):
        self.layout, self.subgoal = layout, subgoal
        self.block = None if subgoal.skill == "go" else layout.block_index(subgoal.object)
        mover = agent_pos(state) if self.block is None else block_pos(state, self.block)
        goal = goal_point(layout, subgoal.relation, subgoal.target, subgoal.object, mover)
        if goal is None:
            raise ValueError(f"there is no room to {subgoal.text()} in this scene")
        self.target = goal
        self.waypoints = (go_waypoints(layout, agent_pos(state), self.target)
                          if self.block is None else [])

    def done(self, state: np.ndarray) -> bool:
        return subgoal_holds(self.layout, state, self.subgoal)

    def __call__(self, state: np.ndarray) -> np.ndarray:
        p, v = agent_pos(state), agent_vel(state)
        if self.block is None:
            while len(self.waypoints) > 1 and np.linalg.norm(self.waypoints[0] - p) < 0.07:
                self.waypoints.pop(0)
            return _toward(p, v, self.waypoints[0])
        return self._push(p, v, block_pos(state, self.block))

    def _push(self, p: np.ndarray, v: np.ndarray, b: np.ndarray) -> np.ndarray:
        d = self.target - b
        dist = np.linalg.norm(d)
        u = d / max(dist, 1e-6)
        perp = np.array([-u[1], u[0]])
        rel = p - b
        along, lat = rel @ u, rel @ perp
        behind = b - (CONTACT + 0.05) * u
        if along > -0.5 * CONTACT:
            # On the wrong side: go round the block, keeping clear of it.
            side = 1.0 if lat >= 0 else -1.0
            return _toward(p, v, b + side * (CONTACT + 0.09) * perp - 0.09 * u)
        if abs(lat) > 0.03 or along < -(CONTACT + 0.09):
            return _toward(p, v, behind)
        # Behind and aligned: drive through the block toward the target, steering the
        # contact point back onto the line, slowing down near the end to avoid overshoot.
        speed = float(np.clip(2.5 * dist + 0.25, 0.3, 1.0))
        a = u - 4.0 * lat * perp
        return speed * a / np.linalg.norm(a)


def run_skill(world: World, subgoal: Subgoal, max_steps: int = 200,
              noise: float = 0.0, rng: np.random.Generator | None = None):
    """Run the scripted skill for `subgoal` from the world's current state.

    Returns (success, states (T+1, S), actions (T, 2)).
    """
    rng = rng or np.random.default_rng(0)
    state = world.state()
    skill = ScriptedSkill(world.layout, subgoal, state)
    states, actions = [state], []
    for _ in range(max_steps):
        if skill.done(state):
            break
        a = np.clip(skill(state) + noise * rng.standard_normal(2), -1, 1)
        state = world.step(a)
        states.append(state)
        actions.append(a)
    return skill.done(state), np.asarray(states), np.asarray(actions).reshape(-1, 2)
