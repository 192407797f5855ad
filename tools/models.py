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

    def model_for(self, scenario: str) -> WorldModel:
        if scenario not in self._models:
            self._models[scenario] = load_packaged(scenario, obs=self.obs)
        return self._models[scenario]


def checkpoint_identity(scenario: str, obs: str = "state") -> dict:
    """Which shipped checkpoint `ModelShelf(obs).model_for(scenario)` loads, by name and the
    SHA-256 its JSON records (read without loading the weights; load checks the digest)."""
    path = shipped(scenario, obs)
    info = read_info(path)
    return {"checkpoint": path.name, "sha256": info.get("sha256") or digest(
        path.with_suffix(".safetensors"))}


def shipped_identities(families: list[str], obs: str = "state") -> dict[str, str]:
    """{family: SHA-256} of every family in `families` with a shipped checkpoint for `obs`."""
    return {n: checkpoint_identity(n, obs)["sha256"] for n in families
            if packaged_path(n, obs).with_suffix(".safetensors").exists()}
