"""The agent's hands: describe and measure the scene, imagine an outcome, act toward a
subgoal, check a predicate. The graph's nodes use the typed modules (`tools.scene`,
`tools.imagination`, `tools.acting`); this module wraps the same code as functions the LLM
may call, whose docstrings are what the LLM reads.

Each takes a `ToolContext` first (the live scene and the world model, never shown to the
LLM), then typed arguments. `TOOLS` is the explicit list; `schemas()` gives their JSON
function descriptions and `call(name, ctx, arguments)` runs one with validated arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from scenarios.scene import SceneDescription
from scenarios.subgoals import Subgoal
from scenarios.world import World
from tools.acting import act
from tools.imagination import WorldModelImaginer
from tools.models import ModelShelf
from tools.registry import Tool, tool
from tools.scene import describe, positions
from worldmodel.planning import Planner


@dataclass
class ToolContext:
    """The live scene the tools act on, and the world models that imagine and plan."""

    world: World
    models: ModelShelf | None = None
    """None when no world model is loaded"""
    planner: Planner | None = None
    """the planner plan_to acts with"""


def _subgoal(ctx: ToolContext, skill: str, object: str, target: str) -> Subgoal:
    s = Subgoal(skill=skill, object="agent" if skill == "go" else object, target=target)
    problems = SceneDescription.from_layout(ctx.world.layout).subgoal_problems(s)
    if problems:
        raise ValueError("; ".join(problems))
    return s


def _need_model(ctx: ToolContext) -> ModelShelf:
    if ctx.models is None:
        raise ValueError("no world model is loaded for this scene; train one with "
                         "`wmagent train SCENARIO` or use a scenario with a shipped model")
    return ctx.models


@tool
def describe_scene(ctx: ToolContext) -> str:
    """Describe the scene as it is now: the agent, every block, pad and zone with its
    position (metres, north is +y), room and colour, and the doorways between rooms."""
    return describe(ctx.world).to_text()


@tool
def check(ctx: ToolContext, skill: Literal["go", "push"], object: str, target: str) -> dict:
    """Check on the real scene whether a subgoal holds now. skill 'go' asks whether the agent
    is on the target; skill 'push' whether the object (a block) is inside the target zone."""
    s = _subgoal(ctx, skill, object, target)
    world = ctx.world
    return {"subgoal": s.text(), "holds": world.holds(s),
            "positions": positions(world, world.state())}


@tool
def imagine(ctx: ToolContext, skill: Literal["go", "push"], object: str, target: str) -> dict:
    """Imagine, with the world model and without touching the real scene, what happens if the
    agent plans for this subgoal: where the agent and the blocks are predicted to end up, and
    whether the subgoal is predicted to hold."""
    models = _need_model(ctx)
    s = _subgoal(ctx, skill, object, target)
    world = ctx.world
    im = WorldModelImaginer(models).imagine(world, world.state(), s)
    predicted = positions(world, im.predicted_state) if im.predicted_state else None
    return {"subgoal": s.text(), "predicted_holds": im.ok, "predicted_positions": predicted,
            "positions_now": positions(world, world.state()), "steps": im.steps}


@tool
def plan_to(ctx: ToolContext, skill: Literal["go", "push"], object: str, target: str,
            max_steps: int = 200) -> dict:
    """Plan with the world model and act in the real scene until the subgoal holds or
    max_steps control steps (0.1 s each) have passed. Returns whether it was reached."""
    _need_model(ctx)
    if ctx.planner is None:
        raise ValueError("no planner in the tool context")
    s = _subgoal(ctx, skill, object, target)
    result = act(ctx.world, s, ctx.planner, max_steps)
    return {"subgoal": s.text(), "reached": bool(result.success), "steps": int(result.steps),
            "reason": result.reason, "positions": positions(ctx.world, ctx.world.state())}


TOOLS: list[Tool] = [describe_scene, imagine, plan_to, check]


def schemas() -> list[dict]:
    """JSON function descriptions of every tool, for an LLM that calls functions."""
    return [t.schema() for t in TOOLS]


def call(name: str, ctx: ToolContext, arguments: dict) -> Any:
    """Run the tool `name` with `arguments` validated against its signature."""
    for t in TOOLS:
        if t.name == name:
            return t(ctx, **arguments)
    raise ValueError(f"no tool {name!r}; tools: {', '.join(t.name for t in TOOLS)}")
