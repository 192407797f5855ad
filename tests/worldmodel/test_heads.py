"""Latent predicate heads: labels from the true predicates, and shipped heads that read them."""

import numpy as np
import pytest
import torch

from scenarios import world_for
from scenarios.collect import CollectConfig, collect
from scenarios.collect import load as load_collection
from tools.predicates import auc, judge, labels, names_for, pairs, shipped_heads
from worldmodel import heads as wm_heads
from worldmodel import load_packaged


def test_labels_are_the_scene_predicates():
    world = world_for("fragile", 0)
    layout = world.layout
    names = names_for(layout)
    assert names[-1] == "broke:block2" and "moved:block2" in names
    start = world.state()
    later = start.copy()
    later[12:14] += (0.1, 0.0)  # the glass slid 10 cm
    later[4:6] = layout.targets[1].pos  # block 0 sits on target 1
    later[-1] = 1.0  # and the glass broke
    y = dict(zip(names, labels(layout, names, start, later), strict=True))
    assert y["moved:block2"] == y["broke:block2"] == y["in:block0:1"] == 1
    assert y["moved:block1"] == y["in:block0:0"] == 0


def test_auc_counts_ranks_and_ties():
    assert auc([0.1, 0.9], [0, 1]) == 1.0 and auc([0.9, 0.1], [0, 1]) == 0.0
    assert auc([0.5, 0.5], [0, 1]) == 0.5 and auc([0.3], [1]) is None


@pytest.fixture(scope="module")
def fresh_clutter(tmp_path_factory):
    """Clutter episodes from scene seeds the shipped heads never saw, and their pairs."""
    out = tmp_path_factory.mktemp("fresh")
    collect(CollectConfig("clutter", episodes=40, steps=100, seed=900_000, scatter=0.5), out)
    model = load_packaged("clutter")
    names = names_for(world_for("clutter", 0).layout)
    return model, pairs(model, "clutter", load_collection(out)[1], names, per_episode=8)


def test_the_shipped_heads_read_subgoals_and_side_effects_on_unseen_scenes(fresh_clutter):
    _, p = fresh_clutter
    heads = shipped_heads("clutter")
    assert heads is not None
    with torch.no_grad():
        prob = torch.sigmoid(heads(p.z0, p.z)).numpy()
    y = p.y.numpy()
    sub = [k for k, n in enumerate(heads.names) if n.startswith("in:")]
    eff = [k for k, n in enumerate(heads.names) if n.startswith("moved:")]
    assert auc(prob[:, sub].ravel(), y[:, sub].ravel()) > 0.95
    assert auc(prob[:, eff].ravel(), y[:, eff].ravel()) > 0.9


def test_training_heads_lowers_their_loss(fresh_clutter):
    model, p = fresh_clutter
    heads = wm_heads.PredicateHeads(model.config.latent_dim, names_for(
        world_for("clutter", 0).layout))
    losses = wm_heads.fit(heads, p.z0, p.z, p.y, steps=300, batch=128)
    assert losses[-1] < 0.6 * losses[0]


def test_judge_combines_the_blocks_a_plan_does_not_push():
    layout = world_for("clutter", 0).layout
    from scenarios import Subgoal

    push = Subgoal(skill="push", object=layout.blocks[0].name, target=layout.targets[0].name)
    probs = {n: 0.0 for n in names_for(layout)}
    probs.update({"in:block0:0": 0.9, "moved:block0": 0.99, "moved:block1": 0.5,
                  "moved:block2": 0.5})
    said = judge(probs, layout, push, {push.object})
    assert said["holds"] == 0.9 and np.isclose(said["displaced"], 0.75)  # block0 is pushed
    assert np.isclose(said["harm"], 0.75) and said["fell"] == 0.0
