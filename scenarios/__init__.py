"""MuJoCo scenarios: seeded scene families, subgoals, predicates, skills and data."""

from scenarios import families as _families  # noqa: F401  (registers the built-in families)
from scenarios.env import WMEnv, register_all
from scenarios.layout import Layout
from scenarios.registry import Scenario, get, names, register
from scenarios.subgoals import AGENT, Plan, Subgoal
from scenarios.world import StateSpec, World, subgoal_holds, world_for

register_all()

__all__ = ["AGENT", "Layout", "Plan", "Scenario", "StateSpec", "Subgoal", "World", "get",
           "names", "register", "subgoal_holds", "world_for", "WMEnv"]
