"""The shipped world models, loaded once per scenario family and shared by every tool."""

from __future__ import annotations

from dataclasses import dataclass, field

from worldmodel.checkpoint import digest, load_packaged, packaged_path, read_info, shipped
from worldmodel.model import WorldModel


@dataclass
class ModelShelf:
    """The packaged world model of each scenario for one observation mode, loaded on demand."""

    obs: str = "state"
    """what the models encode: 'state' or 'pixels'"""
    _models: dict[str, WorldModel] = field(default_factory=dict)

    def check(self, scenario: str) -> None:
        """Raise, with the command that makes it, if `scenario` has no model here."""
        shipped(scenario, self.obs)

    def model_for(self, scenario: str) -> WorldModel:
        if scenario not in self._models:
            self._models[scenario] = load_packaged(scenario, obs=self.obs)
        return self._models[scenario]


def shipped_identities(families: list[str], obs: str = "state") -> dict[str, str]:
    """{family: SHA-256} of the checkpoint `ModelShelf(obs).model_for(family)` loads, for every
    family in `families` that has one; read from its JSON, without loading the weights (a load
    checks the digest)."""
    out = {}
    for name in families:
        path = packaged_path(name, obs)
        if path.with_suffix(".safetensors").exists():
            out[name] = read_info(path).get("sha256") or digest(path.with_suffix(".safetensors"))
    return out
