"""Imagining a subgoal with the world model: the prediction, and nothing moves."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scenarios.subgoals import Subgoal
from scenarios.world import World
from tools.acting import avoid_penalty, edge_penalty, sum_penalties
from tools.models import ModelShelf
from worldmodel.imagine import imagine as wm_imagine


@dataclass(frozen=True)
class Imagination:
    """The world model's verdict on one subgoal from one state."""

    ok: bool
    """the subgoal's predicate holds on the predicted final state"""
    reason: str
    """why not, in words ("" when ok)"""
    predicted_state: list[float] | None
    """(S,) the predicted state after the subgoal; None when nothing was predicted"""
    steps: int = 0
    """control steps the imagined plan took"""


@dataclass
class WorldModelImaginer:
    """The world model as a verifier of the LLM's plan: plan and read out, no simulation."""

    models: ModelShelf
    max_steps: int = 250

    def imagine(self, world: World, state: np.ndarray, subgoal: Subgoal,
                avoid: tuple[str, ...] = ()) -> Imagination:
        """Predict, without moving `world`, what planning for `subgoal` from `state` gives,
        keeping clear of what `avoid` names as the executor would."""
        model = self.models.model_for(world.layout.scenario)
        state = np.asarray(state, float)
        # the same costs the executor of a foresighted agent plans with
        penalty = sum_penalties(avoid_penalty(world.layout, state, avoid) if avoid else None,
                                edge_penalty(world.layout))
        im = wm_imagine(model, state, subgoal, world, max_steps=self.max_steps, avoid=avoid,
                        penalty=penalty)
        ok = bool(im.reached)
        return Imagination(ok, "" if ok else im.describe(world),
                           np.asarray(im.final_state).tolist(), int(len(im.actions)))
