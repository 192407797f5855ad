"""The scenario registry: a name -> seeded layout factory, as dm_control's suite does."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from scenarios.layout import Layout


@dataclass(frozen=True)
class Scenario:
    """A registered family of scenes."""

    name: str
    summary: str
    example: str  # a typical instruction, for listings
    factory: Callable[[int], Layout]
    max_subgoals: int = 6
    consequences: bool = False
    """side effects (`scenarios.side_effects`) fail a task: the foresight families"""

    def layout(self, seed: int) -> Layout:
        """The scene for `seed`: the same seed always gives the same layout."""
        if not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        return self.factory(seed)


_REGISTRY: dict[str, Scenario] = {}


def register(scenario: Scenario) -> Scenario:
    if scenario.name in _REGISTRY:
        raise ValueError(f"scenario {scenario.name!r} is already registered")
    _REGISTRY[scenario.name] = scenario
    return scenario


def get(name: str) -> Scenario:
    """The scenario called `name`, or a ValueError that lists the known ones."""
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise ValueError(f"unknown scenario {name!r}; choose one of: {known}") from None


def names() -> list[str]:
    return sorted(_REGISTRY)
