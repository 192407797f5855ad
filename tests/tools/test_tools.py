import json

import pytest

import tools
from scenarios import world_for
from tools import ToolContext


def test_schemas_come_from_signatures_and_docstrings():
    by_name = {s["function"]["name"]: s["function"] for s in tools.schemas()}
    assert list(by_name) == ["describe_scene", "imagine", "plan_to", "check"]
    check = by_name["check"]
    assert "holds" in check["description"]
    assert check["parameters"]["properties"]["skill"]["enum"] == ["go", "push"]
    assert set(check["parameters"]["required"]) == {"skill", "object", "target"}
    assert "ctx" not in json.dumps(by_name)
    assert by_name["plan_to"]["parameters"]["properties"]["max_steps"]["default"] == 200


def test_check_and_describe_on_the_real_scene():
    world = world_for("push", 0)
    ctx = ToolContext(world)
    block, zone = world.layout.blocks[0].name, world.layout.targets[0].name
    out = tools.call("check", ctx, {"skill": "push", "object": block, "target": zone})
    assert out["holds"] is False and set(out["positions"]) == {"agent"} | {
        b.name for b in world.layout.blocks}
    assert block in tools.call("describe_scene", ctx, {})


def test_bad_arguments_are_named():
    ctx = ToolContext(world_for("push", 0))
    with pytest.raises(ValueError, match="bad arguments for tool check: skill: Input should be"):
        tools.call("check", ctx, {"skill": "fly", "object": "x", "target": "y"})
    with pytest.raises(ValueError, match="there is no 'pink zone' here; targets are"):
        tools.call("check", ctx, {"skill": "go", "object": "agent", "target": "pink zone"})
    with pytest.raises(ValueError, match="no tool 'teleport'"):
        tools.call("teleport", ctx, {})
    with pytest.raises(ValueError, match="no world model is loaded"):
        zone = ctx.world.layout.targets[0].name
        tools.call("imagine", ctx, {"skill": "go", "object": "agent", "target": zone})
