"""This project's predicates read from the world model's latent (`worldmodel.heads`).

For one family every scene has the same number of things, so a head is named by index, not by
colour: `in:agent:T` and `in:blockI:T` (the agent or block I is in target T, the `in`
relation of `scenarios.relations`), `moved:blockI` (block I displaced since the start: more
than 5 cm, or out of its zone; `scenarios.side_effects.displaced`), `fell:blockI` (families
with open edges) and `broke:blockI` (glasses). Labels are those predicates on the true states
of collected episodes (`wmagent collect`), for pairs (start, later) of the same episode.

`judge` turns the heads' probabilities into what a plan's critic asks: does the subgoal hold,
and will anything the plan does not name be displaced, fall or break.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from scenarios.layout import Layout
from scenarios.registry import get
from scenarios.relations import holds_at
from scenarios.side_effects import broken, displaced, fell
from scenarios.subgoals import Subgoal
from scenarios.world import agent_pos, block_pos
from worldmodel import heads as wm_heads
from worldmodel.checkpoint import packaged_path
from worldmodel.model import WorldModel


def names_for(layout: Layout) -> list[str]:
    """The predicate names of `layout`'s family, in head order."""
    movers = ["agent"] + [f"block{i}" for i in range(len(layout.blocks))]
    out = [f"in:{m}:{t}" for m in movers for t in range(len(layout.targets))]
    out += [f"moved:block{i}" for i in range(len(layout.blocks))]
    if layout.open_edges:
        out += [f"fell:block{i}" for i in range(len(layout.blocks))]
    out += [f"broke:block{i}" for i in layout.fragile]
    return out


def labels(layout: Layout, names: list[str], start: np.ndarray, state: np.ndarray) -> np.ndarray:
    """(P,) 0/1: each named predicate on the true `state` (S,) of a run that began in `start`."""
    out = np.zeros(len(names), np.float32)
    for k, name in enumerate(names):
        kind, *rest = name.split(":")
        i = int(rest[0][5:]) if rest[0].startswith("block") else None
        if kind == "in":
            t = layout.targets[int(rest[1])]
            pos = agent_pos(state) if i is None else block_pos(state, i)
            out[k] = holds_at("in", pos, np.asarray(t.pos), t.radius)
        elif kind == "moved":
            out[k] = displaced(layout, start, state, i) is not None
        elif kind == "fell":
            out[k] = fell(layout, state, i) and not fell(layout, start, i)
        elif kind == "broke":
            out[k] = broken(layout, state, i) and not broken(layout, start, i)
    return out


@dataclass
class Pairs:
    """Embedding pairs with labels: z0 (N, D), z (N, D), y (N, P), episode (N,)."""

    z0: torch.Tensor
    z: torch.Tensor
    y: torch.Tensor
    episode: np.ndarray


@torch.no_grad()
def _encode(model: WorldModel, states: np.ndarray) -> torch.Tensor:
    x = torch.from_numpy(np.asarray(states, np.float32))
    return torch.cat([model.encode(x[i:i + 8192]) for i in range(0, len(x), 8192)])


def pairs(model: WorldModel, family: str, data: dict[str, np.ndarray], names: list[str],
          per_episode: int = 8, seed: int = 0) -> Pairs:
    """`per_episode` random (start, later) pairs from each collected episode of `data`
    (`scenarios.collect.load`), encoded by `model`, labelled on the true states."""
    rng = np.random.default_rng(seed)
    states, seeds = data["state"], data["seed"]
    e_n, t_n = states.shape[:2]
    ep = np.repeat(np.arange(e_n), per_episode)
    t0 = rng.integers(0, t_n - 1, len(ep))
    t1 = np.minimum(t_n - 1, t0 + 1 + rng.integers(0, t_n, len(ep)))
    y = _labelled(family, names, states, seeds, ep, t0, t1)
    return Pairs(_encode(model, states[ep, t0]), _encode(model, states[ep, t1]), y, ep)


def _labelled(family: str, names: list[str], states: np.ndarray, seeds: np.ndarray,
              ep: np.ndarray, t0: np.ndarray, t1: np.ndarray) -> torch.Tensor:
    """(N, P) labels of the pairs (states[ep, t0], states[ep, t1]), each episode's layout
    rebuilt from its scene seed once."""
    layouts: dict[int, Layout] = {}
    y = np.zeros((len(ep), len(names)), np.float32)
    for n, (e, a, b) in enumerate(zip(ep, t0, t1, strict=True)):
        s = int(seeds[e])
        if s not in layouts:
            layouts[s] = get(family).layout(s)
        y[n] = labels(layouts[s], names, states[e, a], states[e, b])
    return torch.from_numpy(y)


@torch.no_grad()
def imagined_pairs(model: WorldModel, family: str, data: dict[str, np.ndarray],
                   names: list[str], per_episode: int = 8, seed: int = 1) -> Pairs:
    """Like `pairs`, but the later embedding is *imagined*: the model rolls the recorded
    actions out from the start's embedding, 1 to T/k chunks, and the label is the predicates
    on the true state those actions reached. Heads trained on these read the model's own
    predictions, biases included (a model that under-predicts how far a block slides may
    still encode the push that sends it off the edge)."""
    rng = np.random.default_rng(seed)
    states, actions, seeds = data["state"], data["action"], data["seed"]
    k = model.config.chunk
    e_n, t_n = actions.shape[:2]
    ep = np.repeat(np.arange(e_n), per_episode)
    n_chunks = rng.integers(1, t_n // k + 1, len(ep))
    t0 = np.array([rng.integers(0, t_n - c * k + 1) for c in n_chunks])
    z0 = _encode(model, states[ep, t0])
    z = torch.empty_like(z0)
    for c in np.unique(n_chunks):
        i = np.flatnonzero(n_chunks == c)
        steps = t0[i, None] + np.arange(c * k)
        a = torch.from_numpy(actions[ep[i, None], steps].astype(np.float32)).view(len(i), c, k, -1)
        z[i] = model.rollout(z0[i], a)[:, -1]
    return Pairs(z0, z, _labelled(family, names, states, seeds, ep, t0, t0 + n_chunks * k), ep)


def auc(scores: np.ndarray, truth: np.ndarray) -> float | None:
    """Area under the ROC curve (the chance that a random positive scores above a random
    negative, ties half); None without both classes."""
    scores, truth = np.asarray(scores, float), np.asarray(truth, bool)
    pos, neg = scores[truth], scores[~truth]
    if not len(pos) or not len(neg):
        return None
    _, tie, count = np.unique(np.concatenate([pos, neg]), return_inverse=True,
                              return_counts=True)
    mean_rank = np.cumsum(count) - (count - 1) / 2  # 1-based ranks, ties averaged
    ranks = mean_rank[tie]
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2)
                 / (len(pos) * len(neg)))


def heads_path(family: str) -> Path:
    """Where the shipped heads of `family`'s state model live (beside the checkpoint)."""
    return packaged_path(family, "state")


def shipped_heads(family: str) -> wm_heads.PredicateHeads | None:
    """The shipped heads of `family`, or None where none are shipped."""
    path = heads_path(family)
    if not path.with_suffix(".heads.json").exists():
        return None
    return wm_heads.load(path)


def judge(probabilities: dict[str, float], layout: Layout, subgoal: Subgoal,
          named: set[str]) -> dict[str, float]:
    """What the heads say of a plan's subgoal, as probabilities: `holds` (its predicate, for
    the `in` relation; absent otherwise), and `displaced`, `fell`, `broke` and `harm` (any of
    them) over the blocks the plan does not push (falls and breaks of any block)."""
    out: dict[str, float] = {}
    if subgoal.relation == "in":
        mover = "agent" if subgoal.skill == "go" else f"block{layout.block_index(subgoal.object)}"
        t = next(k for k, x in enumerate(layout.targets) if x.name == subgoal.target)
        out["holds"] = probabilities[f"in:{mover}:{t}"]
    none = {"displaced": 1.0, "fell": 1.0, "broke": 1.0}
    for i, b in enumerate(layout.blocks):
        for kind in none:
            p = probabilities.get(f"{'moved' if kind == 'displaced' else kind}:block{i}")
            if p is None or (kind == "displaced" and b.name in named):
                continue
            none[kind] *= 1 - p
    out.update({k: 1 - v for k, v in none.items()})
    out["harm"] = 1 - float(np.prod(list(none.values())))
    return out
