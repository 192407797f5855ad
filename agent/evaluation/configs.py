"""What produced a result row: each agent's configuration, as plain data and a short digest.

A configuration names everything that decides an agent's episodes and that a person can change
without editing code: the agent kind, the suite, the LLM (embedded model and adapter digest, a
server's URL and model name, or a scripted file's digest), the world-model checkpoints (by
SHA-256) with the planner and observation mode, and the budgets. Result rows are keyed by it,
so rows made one way are never reported as if made another.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

from agent.kinds.registry import kind
from agent.kinds.settings import AgentSettings
from agent.llm.backends import identity
from scenarios import names
from tools.models import shipped_identities

LEGACY = "legacy"
"""the configuration id of rows stored by a wmagent that did not record configurations"""


@dataclass(frozen=True)
class Configuration:
    """One agent's configuration in a sweep."""

    agent: str
    fingerprint: dict
    """plain JSON data; two runs with equal fingerprints produce the same episodes"""

    @property
    def id(self) -> str:
        blob = json.dumps(self.fingerprint, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:12]


def world_model_identity(planner: str | None, settings: AgentSettings) -> dict:
    """How an agent acts: the latent planner with every shipped checkpoint of its observation
    mode (all families, so that a longer run of the same suite keeps its configuration), the
    simulator planner, or scripted controllers."""
    # seed 0 rows keep the configuration they were stored with
    seed = {"planner_seed": settings.planner_seed} if settings.planner_seed else {}
    if planner == "sim":
        return {"planner": "sim", **seed}
    if planner is None:
        return {"planner": "scripted controllers"}
    return {"planner": settings.planner, "obs": settings.obs,
            "checkpoints": shipped_identities(names(), settings.obs), **seed}


def configuration(agent: str, suite: str, settings: AgentSettings) -> Configuration:
    """The configuration of `agent` on `suite` when built with `settings`."""
    k = kind(agent)
    fp = {"agent": agent, "suite": suite, "budgets": asdict(settings.budgets),
          "acting": world_model_identity(k.planner, settings)}
    if k.uses_llm:
        fp["llm"] = identity(settings.llm)
    if agent == "hybrid":  # the only kind that compares candidate plans
        fp["candidates"] = settings.candidates
    return Configuration(agent, fp)


def differences(old: dict, new: dict, prefix: str = "") -> list[str]:
    """'field: stored X, now Y' for every leaf where two fingerprints differ."""
    out = []
    for key in sorted(set(old) | set(new)):
        a, b, name = old.get(key), new.get(key), f"{prefix}{key}"
        if isinstance(a, dict) and isinstance(b, dict):
            out += differences(a, b, name + ".")
        elif a != b:
            out.append(f"{name}: stored {'(none)' if a is None else a}, "
                       f"now {'(none)' if b is None else b}")
    return out
