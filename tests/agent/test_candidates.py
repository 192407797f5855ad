"""Candidate plans for the critic: only plans that mean what was asked, the LLM's first."""

from __future__ import annotations

from agent.llm.base import Usage
from agent.understand.candidates import candidates, reorderings, same_meaning
from scenarios import world_for
from scenarios.scene import SceneDescription
from scenarios.subgoals import Plan, Subgoal


def push(block: str, zone: str) -> Subgoal:
    return Subgoal(skill="push", object=f"{block} block", target=f"{zone} zone")


def go(zone: str) -> Subgoal:
    return Subgoal(skill="go", object="agent", target=f"{zone} zone")


def test_reorderings_swap_only_pushes_of_different_blocks_between_the_same_gos():
    plan = Plan(subgoals=[push("red", "green"), push("blue", "yellow"), go("green"),
                          push("red", "yellow"), push("red", "green")])
    orders = reorderings(plan)
    assert [[s.object for s in p.subgoals] for p in orders] == [
        ["blue block", "red block", "agent", "red block", "red block"]]
    assert all(same_meaning(plan, p) for p in orders)
    # a push moved across a go, or one block's pushes in another order, means something else
    assert not same_meaning(plan, Plan(subgoals=[push("red", "green"), go("green"),
                                                 push("blue", "yellow"), push("red", "yellow"),
                                                 push("red", "green")]))
    assert not same_meaning(plan, Plan(subgoals=[push("red", "green"), push("blue", "yellow"),
                                                 go("green"), push("red", "green"),
                                                 push("red", "yellow")]))
    assert not same_meaning(plan, plan.model_copy(update={"avoid": ["purple zone"]}))


class Drawing:
    """A backend that draws: each seed gives the next of `answers`."""

    def __init__(self, answers: list[dict]):
        self.answers, self.seeds = answers, []

    def complete(self, messages, schema, sampling=None):
        assert sampling is not None and sampling.temperature > 0
        self.seeds.append(sampling.seed)
        return self.answers[(sampling.seed - 1) % len(self.answers)], Usage(calls=1)


def as_reply(plan: Plan) -> dict:
    return {"intent": "act", "plan": plan.model_dump(), "text": ""}


def test_candidates_keep_only_plans_that_mean_the_same_the_llms_first():
    scene = SceneDescription.from_layout(world_for("sort", 0).layout)
    names = scene.block_names
    colour = [n.split()[0] for n in names]
    zones = [t.split()[0] for t in scene.target_names]
    first = Plan(subgoals=[push(colour[0], zones[0]), go(zones[1])])
    other_order = Plan(subgoals=[go(zones[1]), push(colour[0], zones[0])])
    other_meaning = Plan(subgoals=[push(colour[1], zones[0]), go(zones[1])])
    backend = Drawing([as_reply(other_meaning), as_reply(first), as_reply(other_order)])
    said = f"Push the {names[0]} into the {zones[0]} zone, then go to the {zones[1]} zone."
    plans, usage = candidates(backend, scene, said, first, 4)
    # nothing can be re-ordered (one push): no plan but the LLM's means the same, and no
    # LLM call is spent looking for one
    assert plans == [first] and backend.seeds == [] and usage.calls == 0
    two = Plan(subgoals=[push(colour[0], zones[0]), push(colour[1], zones[1]), go(zones[1])])
    swapped = Plan(subgoals=[two.subgoals[1], two.subgoals[0], two.subgoals[2]])
    said = (f"Push the {names[0]} into the {zones[0]} zone and the {names[1]} into the "
            f"{zones[1]} zone, then go to the {zones[1]} zone.")
    backend = Drawing([as_reply(other_meaning), as_reply(two), as_reply(swapped)])
    plans, usage = candidates(backend, scene, said, two, 4)
    # the one swap, then three draws: another meaning, the LLM's plan again, the swap again
    assert plans == [two, swapped] and backend.seeds == [1, 2, 3] and usage.calls == 3
