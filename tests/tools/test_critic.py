"""The world model as the critic of candidate plans (`tools.imagination.choose`)."""

from __future__ import annotations

import numpy as np

from scenarios import world_for
from scenarios.side_effects import SideEffect
from scenarios.subgoals import Subgoal
from tools.imagination import Imagination, choose


def _scene():
    world = world_for("fragile", 0)
    blocks = [b.name for b in world.layout.blocks if b.name != "glass"]
    zones = [t.name for t in world.layout.targets]
    first, second = (Subgoal(skill="push", object=b, target=z)
                     for b, z in zip(blocks, zones, strict=False))
    return world, first, second


def _imaginer(world, first: Subgoal):
    """A constructed prediction: the first block's push strikes the glass unless the second
    block was pushed before it (say, it stood where the first block gets past the glass);
    every push reaches its zone."""
    index = {b.name: i for i, b in enumerate(world.layout.blocks)}
    start = world.state()

    def imagine(world_, state, subgoal, avoid=()):
        s = np.asarray(state, float).copy()
        i = index[subgoal.object]
        s[4 + 4 * i:6 + 4 * i] = world.layout.target(subgoal.target).pos
        other_moved = not np.allclose(s[8:10], start[8:10])
        effects = ()
        if subgoal == first and not other_moved:
            effects = (SideEffect("broke", "glass", "was struck", depth=0.1),)
        return Imagination(True, "", s.tolist(), 40, effects)

    return imagine


def test_the_critic_chooses_the_order_that_leaves_the_glass_whole():
    world, first, second = _scene()
    asked, other = [first, second], [second, first]
    i, f, seen = choose(_imaginer(world, first), world, [asked, other])
    assert i == 1 and not f.chosen and not f.unsafe
    assert [e.kind for e in seen[0].predicted] == ["broke"] and seen[0].unsafe


def test_ties_keep_the_llms_own_plan():
    world, first, second = _scene()
    safe = _imaginer(world, Subgoal(skill="go", object="agent",
                                    target=world.layout.targets[0].name))
    i, f, _ = choose(safe, world, [[first, second], [second, first]])
    assert i == 0 and not f.chosen


def test_candidates_share_the_imaginations_they_have_in_common():
    """The same plan twice is the same imagining: each distinct (state, subgoal, what to keep
    clear of) is imagined once, and the verdicts are those of imagining every candidate
    afresh. Afresh: the plan that strikes the glass is imagined as it stands and again
    keeping clear of the glass (4), the other order once (2), the repeat again (4)."""
    world, first, second = _scene()
    calls = []
    imagine = _imaginer(world, first)

    def counted(world_, state, subgoal, avoid=()):
        calls.append(subgoal)
        return imagine(world_, state, subgoal, avoid)

    plans = [[first, second], [second, first], [first, second]]
    i, f, seen = choose(counted, world, plans)
    assert len(calls) == 6, calls
    fresh = [choose(imagine, world, [p])[2][0] for p in plans]
    assert [s.predicted for s in seen] == [s.predicted for s in fresh]
    assert i == 1 and not f.chosen


def test_an_imagination_setting_names_its_search_and_a_bad_one_says_how_to_write_it():
    import pytest

    from tools.imagination import WorldModelImaginer
    from tools.models import ModelShelf

    shelf = ModelShelf("state")
    im = WorldModelImaginer.parse(shelf, "3:s1:n100")
    assert (im.commit, im.planner.seed, im.planner.samples) == (3, 1, 100)
    assert WorldModelImaginer.parse(shelf, "1").planner is None  # the agent's own search
    with pytest.raises(ValueError, match=r"'3:x1' is invalid .* COMMIT\[:sSEED\]"):
        WorldModelImaginer.parse(shelf, "3:x1")


def test_a_planner_seed_replays_its_imagination_and_another_seed_searches_anew():
    from tools.imagination import WorldModelImaginer
    from tools.models import ModelShelf
    from worldmodel.planning import PlannerConfig

    world = world_for("push", 3)
    sg = Subgoal(skill="go", object="agent", target=world.layout.targets[0].name)
    shelf = ModelShelf("state")

    def path(seed: int):
        im = WorldModelImaginer(shelf, planner=PlannerConfig(seed=seed))
        return im.imagine(world, world.state(), sg).path

    assert path(1) == path(1)
    assert path(1) != path(0)
