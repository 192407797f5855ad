"""Imagining a subgoal with the world model: the prediction, and nothing moves."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scenarios.subgoals import Subgoal
from scenarios.world import World
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

    def imagine(self, world: World, state: np.ndarray, subgoal: Subgoal) -> Imagination:
        """Predict, without moving `world`, what planning for `subgoal` from `state` gives."""
        model = self.models.model_for(world.layout.scenario)
        im = wm_imagine(model, np.asarray(state, float), subgoal, world, max_steps=self.max_steps)
        ok = bool(im.reached)
        return Imagination(ok, "" if ok else im.describe(world),
                           np.asarray(im.final_state).tolist(), int(len(im.actions)))
