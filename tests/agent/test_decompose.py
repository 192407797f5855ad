"""Decomposition with a scripted backend: schema, validation, repair, clarification, revise."""

from __future__ import annotations

import json

import pytest

from agent.llm import InvalidAnswer, ScriptedBackend, Usage
from agent.understand.decompose import (
    absent_names,
    coverage_problems,
    decompose,
    plan_schema,
    reply_schema,
    revise,
)
from scenarios import world_for
from scenarios.scene import SceneDescription
from scenarios.subgoals import Plan, Subgoal


def scene_of(name: str, seed: int = 0) -> SceneDescription:
    return SceneDescription.from_layout(world_for(name, seed).layout)


def plan(*texts: str) -> dict:
    return json.loads(Plan(subgoals=[Subgoal.parse(t) for t in texts]).model_dump_json())


@pytest.fixture(scope="module")
def sort() -> SceneDescription:
    return scene_of("sort")  # red/blue/green blocks and zones


def test_schema_names_only_the_scene(sort):
    schema = plan_schema(sort)
    kinds = schema["properties"]["subgoals"]["items"]["anyOf"]
    go, push, push_rel = (k["properties"] for k in kinds)
    assert go["skill"]["enum"] == ["go"] and go["object"]["enum"] == ["agent"]
    assert go["target"]["enum"] == sort.target_names
    assert push["object"]["enum"] == sort.block_names
    assert set(push["target"]["enum"]) == {t.name for t in sort.targets if t.kind == "zone"}
    # a push with a relation may end beside any target; "in" is never written (the default)
    assert push_rel["target"]["enum"] == sort.target_names and "in" not in push_rel[
        "relation"]["enum"] and kinds[2]["required"] == ["skill", "object", "relation", "target"]
    # the order the adapter was trained on
    assert list(go) == ["skill", "object", "relation", "target"]
    assert set(schema["properties"]["avoid"]["items"]["enum"]) == set(
        sort.block_names + sort.target_names)


def test_schema_without_blocks_allows_only_go():
    items = plan_schema(scene_of("pads"))["properties"]["subgoals"]["items"]
    assert "anyOf" not in items and items["properties"]["skill"]["enum"] == ["go"]


def test_valid_answer_is_returned_with_usage(sort):
    backend = ScriptedBackend([plan("push red block into green zone", "go to blue zone")])
    d = decompose(backend, sort, "Push the red block into the green zone, then go to the "
                                 "blue zone.")
    assert d.plan is not None and d.question is None and d.problems == []
    assert [s.text() for s in d.plan.subgoals] == [
        "push the red block into the green zone", "go to the blue zone"]
    assert d.attempts == 1 and d.usage.calls == 1 and len(d.raw) == 1
    messages, schema = backend.calls[0]
    assert "green zone" in messages[-1]["content"] and schema == reply_schema(sort)


def test_invalid_plan_gets_one_repair_round_naming_the_problem(sort):
    bad = plan("push red block into blue block")  # a block is not a target
    backend = ScriptedBackend([bad, plan("push red block into blue zone")])
    d = decompose(backend, sort, "Push the red block into the blue zone.")
    assert d.plan is not None and d.attempts == 2 and d.usage.calls == 2
    repair = backend.calls[1][0]
    assert repair[-2]["role"] == "assistant" and repair[-2]["content"] == d.raw[0]
    assert "there is no 'blue block' here; targets are" in repair[-1]["content"]


def test_unparseable_answer_is_repaired_too(sort):
    backend = ScriptedBackend(["{not json", plan("go to red zone")])
    d = decompose(backend, sort, "Go to the red zone.")
    assert d.plan is not None and d.raw[0] == "{not json"
    assert "the answer is not JSON" in backend.calls[1][0][-1]["content"]


def test_two_failures_end_in_a_question_not_a_guess(sort):
    bad = plan("go to purple pad")
    d = decompose(ScriptedBackend([bad, bad]), sort, "Go to the red zone.")
    assert d.plan is None and d.attempts == 2
    assert d.question.startswith("I could not make a plan that fits this scene: subgoal 1")
    assert d.problems and "there is no 'purple pad' here" in d.problems[0]


def test_absent_block_asks_the_person_without_calling_the_model(sort):
    backend = ScriptedBackend([])
    d = decompose(backend, sort, "push the pink block into the green zone")
    assert d.plan is None and backend.calls == [] and d.attempts == 0
    assert d.question == ("There is no pink block here (the blocks here: blue block, green "
                          "block, red block). What should I do instead?")


def test_absent_names_suggests_same_colour_and_knows_rooms(sort):
    assert absent_names(sort, "go to the red pad") == [
        "there is no red pad here; did you mean the red block or the red zone?"]
    assert absent_names(sort, "Push the Red block into the GREEN zone.") == []
    assert absent_names(scene_of("pads"), "sort the blocks") == [
        "there are no blocks in this scene"]
    rooms = scene_of("rooms")
    assert absent_names(rooms, "go to the pad in the north-east room") == []
    assert absent_names(sort, "go to the north-east room") == [
        "there is no north-east room here (it has no rooms)"]


def test_empty_instruction_is_refused_with_an_example(sort):
    with pytest.raises(ValueError, match="the instruction is empty: say what should happen"):
        decompose(ScriptedBackend([]), sort, "  ")


def test_revise_sends_done_failed_and_reason(sort):
    backend = ScriptedBackend([plan("push green block into green zone")])
    done = [Subgoal.parse("push red block into red zone")]
    failed = Subgoal.parse("push green block into green zone")
    d = revise(backend, sort, "sort the blocks", done, failed, "the block got stuck")
    assert d.plan is not None
    text = backend.calls[0][0][-1]["content"]
    assert "Done: push the red block into the red zone" in text
    assert "Failed: push the green block into the green zone (the block got stuck)" in text


def test_scripted_backend_replays_raises_and_runs_out():
    b = ScriptedBackend([Plan(subgoals=[]), InvalidAnswer("boom", "raw")])
    answer, usage = b.complete([{"role": "user", "content": "a b"}], Plan)
    assert answer == Plan(subgoals=[]) and usage.calls == 1
    with pytest.raises(InvalidAnswer, match="boom"):
        b.complete([], Plan)
    with pytest.raises(AssertionError, match="ran out of answers after 2 calls"):
        b.complete([], Plan)


def test_usage_adds_up():
    total = Usage(prompt_tokens=3, completion_tokens=4, seconds=1.0, calls=1) + Usage(
        prompt_tokens=1, completion_tokens=1, seconds=0.5, calls=1)
    assert total == Usage(prompt_tokens=4, completion_tokens=5, seconds=1.5, calls=2)


def test_coverage_names_what_a_plan_leaves_out_of_the_instruction():
    rooms = scene_of("rooms")  # orange pad alone in the north-west room
    said = "Go to the yellow pad, then to the pad of the north-west room, then the yellow pad."
    right = Plan.model_validate(plan("go to yellow pad", "go to orange pad", "go to yellow pad"))
    assert coverage_problems(rooms, said, right) == []
    wrong = Plan.model_validate(plan("go to yellow pad", "go to blue pad"))
    assert coverage_problems(rooms, said, wrong) == [
        "the instruction names the yellow pad 2 times, but the plan uses it in 1",
        "the instruction names the north-west room, but no subgoal goes there "
        "(in it: orange pad)"]


def test_a_plan_missing_a_named_room_is_repaired():
    rooms = scene_of("rooms")
    backend = ScriptedBackend([plan("go to blue pad"), plan("go to orange pad")])
    d = decompose(backend, rooms, "Head to the pad of the north-west room.")
    assert [s.text() for s in d.plan.subgoals] == ["go to the orange pad"]
    assert d.attempts == 2 and d.problems == []
    assert "names the north-west room, but no subgoal goes there" in backend.calls[1][0][-1][
        "content"]


def test_a_plan_still_missing_something_after_repair_is_kept_with_a_note(sort):
    # "avoid the blue zone" names a thing a right plan leaves out: keep the plan, say so.
    backend = ScriptedBackend([plan("push red block into green zone"),
                               plan("push red block into green zone")])
    d = decompose(backend, sort, "Push the red block into the green zone; avoid the blue zone.")
    assert [s.text() for s in d.plan.subgoals] == ["push the red block into the green zone"]
    assert d.question is None and d.attempts == 2
    assert d.problems == ["the instruction names the blue zone once, but the plan uses it in "
                          "no subgoal"]


def test_an_invalid_repair_falls_back_to_the_valid_first_plan(sort):
    backend = ScriptedBackend([plan("go to red zone"), plan("go to purple pad")])
    d = decompose(backend, sort, "Go to the red zone and look at the blue block.")
    assert [s.text() for s in d.plan.subgoals] == ["go to the red zone"]
    assert d.problems and "blue block" in d.problems[0]


def test_a_subgoal_repeated_for_nothing_is_dropped(sort):
    """sort/7 once gave five subgoals, two of them repeats: the plan keeps each once, unless
    something in between undid it."""
    red = {"skill": "push", "object": "red block", "target": "red zone"}
    blue = {"skill": "push", "object": "blue block", "target": "blue zone"}
    back = {"skill": "push", "object": "red block", "target": "green zone"}
    plan = {"subgoals": [red, blue, red, back, red]}
    backend = ScriptedBackend([{"intent": "act", "plan": plan}])
    d = decompose(backend, sort, "Push the red block into the red zone and the blue block into "
                                 "the blue zone; then the red block into the green zone and back.")
    assert [s.model_dump(exclude={"relation"}) for s in d.plan.subgoals] == [red, blue, back, red]
    assert d.attempts == 1


def test_a_clarify_about_what_the_scene_has_goes_back_to_the_model(sort):
    backend = ScriptedBackend([{"intent": "clarify", "about": "red zone"},
                               {"intent": "act", "plan": {"subgoals": [
                                   {"skill": "go", "object": "agent", "relation": "near",
                                    "target": "red zone"}]}}])
    d = decompose(backend, sort, "Come to rest in the vicinity of the red zone.")
    assert d.reply.intent == "act" and d.plan.subgoals[0].relation == "near"
    assert "the red zone is in the scene" in backend.calls[1][0][-1]["content"]


def test_a_name_the_scene_lacks_is_asked_about_by_its_name(sort):
    d = decompose(ScriptedBackend([]), sort, "Push the red block into the pink zone.")
    assert d.reply.intent == "clarify" and d.reply.about == "pink zone" and d.attempts == 0
    assert d.question.startswith("There is no pink zone here")


@pytest.mark.parametrize("message,avoid,kept", [
    # the model added an avoid nobody said: dropped
    ("Travel to the orange pad after you travel to the blue pad.", ["home pad"], []),
    # the home pad is the plan's own target, named once: avoiding it too was invented
    ("Come back home, but first head over to the blue pad.", ["home pad"], []),
    # said by the person, by colour or by "home": kept
    ("Head over to the blue pad, but keep off the green pad.", ["green pad"], ["green pad"]),
    ("Travel to the orange pad without crossing home.", ["home pad"], ["home pad"]),
])
def test_an_avoid_the_person_never_said_is_dropped(message, avoid, kept):
    pads = scene_of("pads")
    subgoals = [Subgoal.parse("go to blue pad"), Subgoal.parse("go to orange pad")]
    if "home, but first" in message:
        subgoals = [Subgoal.parse("go to blue pad"), Subgoal.parse("go to home pad")]
    reply = {"intent": "act", "plan": {**json.loads(Plan(subgoals=subgoals).model_dump_json()),
                                       "avoid": avoid}}
    d = decompose(ScriptedBackend([reply]), pads, message)
    assert d.plan is not None and d.plan.avoid == kept and d.attempts == 1


def test_no_true_avoid_is_ever_dropped():
    """The rule above never fires on a person's own constraint: every generated message with
    an avoid, both splits, keeps it."""
    from agent.understand.decompose import unasked_avoids
    from scenarios import names
    from scenarios.requests import generate

    seen = 0
    for split in ("train", "test"):
        for family in names():
            for req in generate(family, 150, split, seed=123):
                if req.reply.plan is not None and req.reply.plan.avoid:
                    seen += 1
                    scene = SceneDescription.from_layout(world_for(family, req.seed).layout)
                    assert unasked_avoids(scene, req.text, req.reply.plan) == [], req.text
    assert seen > 100


def test_a_plan_to_a_target_the_message_never_mentions_is_in_doubt(sort):
    from agent.understand.decompose import doubts

    p = Plan.model_validate(plan("push red block north_of green zone"))
    assert doubts(sort, "Hold the red block up high", p, 0.99) == (
        "you did not mention the green zone")
    assert doubts(sort, "Push the red block above the green zone", p, 0.99) is None
    assert doubts(sort, "Tidy up: every block to the zone of its colour", p, 0.99) is None
    assert doubts(sort, "Push the red block above the green zone", p, 0.5) == (
        "I am only 50% sure you asked me to act")
    assert doubts(sort, "Push the red block above the green zone", p, None) is None


def test_a_what_if_to_a_place_never_named_asks_where_instead_of_guessing(sort):
    """Said in the chat: "what happens if I push the orange block to the west?" was imagined
    as a push into a zone to the east and answered as if that had been asked."""
    imagined = {"intent": "imagine", "plan": plan("push red block into green zone")}
    d = decompose(ScriptedBackend([imagined]), sort,
                  "What happens if I push the red block to the west?")
    assert d.plan is None and d.reply.intent == "clarify" and not d.reply.moves
    assert d.question.startswith("Where should the red block go?")
    assert "green zone" in d.question and d.problems == ["you did not mention the green zone"]
    # named, it is imagined as asked
    d = decompose(ScriptedBackend([imagined]), sort,
                  "What happens if I push the red block into the green zone?")
    assert d.question is None and d.reply.intent == "imagine"
