"""Relation predicates and goals (in, near, left_of, right_of, north_of, south_of) in every
family, and the typed-message generator's splits."""

import numpy as np
import pytest

from agent.understand.decompose import plan_problems
from scenarios import get, names, world_for
from scenarios import requests as typed
from scenarios.relations import NEAR, SIDE, feasible, goal_point, holds_at
from scenarios.scene import SceneDescription
from scenarios.skills import run_skill
from scenarios.subgoals import RELATIONS, Subgoal

C, R = np.array([0.2, -0.1]), 0.15


@pytest.mark.parametrize("relation,yes,no", [
    ("in", [0.25, -0.1], [0.2 + R + 0.01, -0.1]),
    ("near", [0.2 + R + NEAR - 0.01, -0.1], [0.2 + R + NEAR + 0.01, -0.1]),
    ("near", [0.2, -0.1 - R - 0.05], [0.2, -0.1]),  # inside is not near
    ("left_of", [0.2 - R - 0.05, -0.1 + R - 0.01], [0.2 + R + 0.05, -0.1]),
    ("left_of", [0.2 - R - SIDE + 0.01, -0.1], [0.2 - R - SIDE - 0.01, -0.1]),
    ("left_of", [0.2 - R - 0.05, -0.1], [0.2 - R - 0.05, -0.1 + R + 0.01]),  # out of the band
    ("right_of", [0.2 + R + 0.05, -0.1], [0.2 - R - 0.05, -0.1]),
    ("north_of", [0.2, -0.1 + R + 0.05], [0.2, -0.1 - R - 0.05]),  # north is +y, up
    ("south_of", [0.2, -0.1 - R - 0.05], [0.2, -0.1 + R + 0.05]),
])
def test_each_relation_predicate(relation, yes, no):
    assert holds_at(relation, np.array(yes), C, R)
    assert not holds_at(relation, np.array(no), C, R)


@pytest.mark.parametrize("family", names())
def test_every_feasible_goal_point_satisfies_its_relation(family):
    for seed in range(3):
        layout = get(family).layout(seed)
        movers = ["agent"] + [b.name for b in layout.blocks]
        for t in layout.targets:
            for relation in RELATIONS:
                for mover in movers:
                    if not feasible(layout, relation, t.name, mover):
                        continue
                    p = goal_point(layout, relation, t.name, mover, np.zeros(2))
                    assert holds_at(relation, p, np.asarray(t.pos), t.radius), (
                        family, seed, relation, t.name)


@pytest.mark.parametrize("family", names())
def test_scripted_skills_achieve_relation_subgoals(family):
    """Predicate false before, true after the scripted skill, for go and push relations."""
    rng = np.random.default_rng(4)
    seen = set()
    for seed in range(12):
        world = world_for(family, seed)
        sg = typed._relation_subgoal(world, rng)
        if sg is None or (sg.skill, sg.relation) in seen:
            continue
        assert not world.holds(sg)
        ok, states, _ = run_skill(world, sg, max_steps=400)
        assert ok and world.holds(sg, states[-1]), (family, seed, sg.text())
        seen.add((sg.skill, sg.relation))
    assert any(s == "go" for s, _ in seen)
    if get(family).layout(0).blocks:
        assert any(s == "push" for s, _ in seen)


def test_subgoal_text_and_parse_round_trip_every_relation():
    for relation in RELATIONS:
        for sg in (Subgoal(skill="go", object="agent", relation=relation, target="red zone"),
                   Subgoal(skill="push", object="red block", relation=relation,
                           target="blue pad")):
            assert Subgoal.parse(sg.text()) == sg


def test_typed_splits_share_no_message_and_cover_every_intent():
    for family in names():
        train = list(typed.generate(family, 160, "train", seed=0))
        test = list(typed.generate(family, 160, "test", seed=50_000))
        assert not {r.text for r in train} & {r.text for r in test}
        for split in (train, test):
            assert {r.reply.intent for r in split} == {"act", "answer", "imagine", "clarify",
                                                        "cannot", "stop"}
        for r in train + test:  # every plan is valid in its scene and repeats nothing
            if r.reply.plan is not None:
                scene = SceneDescription.from_layout(get(family).layout(r.seed))
                assert plan_problems(scene, r.reply.plan) == [], (r.text, r.reply)


def test_typed_phrasings_are_split_disjoint():
    tables = [typed.REL[k] for k in typed.REL] + [
        typed.PUSH_REL, typed.GO_REL, typed.AVOID_BLOCK, typed.AVOID_PLACE, typed.AVOID_FIRST,
        typed.ASK_FIRST, typed.SELF, typed.IMAGINE, typed.UNKNOWN, typed.STOP] + [
        typed.QUESTIONS[k] for k in typed.QUESTIONS] + [typed.CANNOT[k] for k in typed.CANNOT]
    for table in tables:
        assert not set(table["train"]) & set(table["test"]), table


def test_bare_kind_check_fires_only_on_ambiguous_messages():
    """The check before the model: never on a message that names its things (every act,
    question, what-if of both splits), always on the "which one?" messages."""
    from agent.understand.decompose import ambiguous_kinds
    from scenarios.instructions import generate as instructions

    for family in names():
        for split, first in (("train", 0), ("test", 50_000)):
            for r in typed.generate(family, 200, split, seed=first):
                scene = SceneDescription.from_layout(get(family).layout(r.seed))
                which = r.reply.intent == "clarify" and r.reply.about in ("block", "pad", "zone")
                assert ambiguous_kinds(scene, r.text) == ([r.reply.about] if which else []), (
                    r.text)
        for split in ("train", "test"):
            for t in instructions(family, 100, split=split, seed=7):
                scene = SceneDescription.from_layout(get(family).layout(t.seed))
                assert ambiguous_kinds(scene, t.instruction) == [], t.instruction


def test_escape_first_pushes_a_block_off_the_spot_the_agent_needs():
    from scenarios.layout import AGENT_RADIUS, BLOCK_RADIUS
    from scenarios.relations import ESCAPE, KEEP_CLEAR, escape
    from scenarios.world import BEHIND

    layout = world_for("clutter", 0).layout
    block, target = np.array([0.0, 0.0]), np.array([-0.5, 0.0])
    keep = [(np.array([0.16, 0.02]), AGENT_RADIUS + BLOCK_RADIUS + KEEP_CLEAR)]
    # Straight to the target, the agent would have to stand where the avoided block is.
    assert np.linalg.norm(block + BEHIND * np.array([1.0, 0]) - keep[0][0]) < keep[0][1]
    aim = escape(layout, block, target, BEHIND, keep)
    assert np.isclose(np.linalg.norm(aim - block), ESCAPE)
    u = (aim - block) / ESCAPE
    assert np.linalg.norm(block - BEHIND * u - keep[0][0]) >= keep[0][1]
    assert u @ (target - block) > 0, "it still heads the target's way"
    # Nothing in the way: the target itself.
    far = [(np.array([0.8, 0.8]), keep[0][1])]
    assert np.array_equal(escape(layout, block, target, BEHIND, far), target)
