"""The shipped world models, loaded once per scenario family and shared by every tool."""

from __future__ import annotations

from dataclasses import dataclass, field

from worldmodel.checkpoint import load_packaged
from worldmodel.model import WorldModel


@dataclass
class ModelShelf:
    """The packaged world model of each scenario for one observation mode, loaded on demand."""

    obs: str = "state"
    """what the models encode: 'state' or 'pixels'"""
    _models: dict[str, WorldModel] = field(default_factory=dict)

    def model_for(self, scenario: str) -> WorldModel:
        if scenario not in self._models:
            self._models[scenario] = load_packaged(scenario, obs=self.obs)
        return self._models[scenario]
