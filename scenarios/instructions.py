"""Seeded natural-language instructions with their ground-truth subgoals.

Every phrasing element (verb template, connector, sentence shape) belongs to one split, so that
instructions of the `test` split use phrasings that never occur in the `train` split: a
decomposer is then measured on wording it has not seen. Object and target names are shared.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from scenarios.layout import Layout
from scenarios.registry import get
from scenarios.subgoals import AGENT, Subgoal
from scenarios.world import World

Split = Literal["train", "test"]

GO = {
    "train": ["go to {t}", "move to {t}", "head to {t}", "drive to {t}", "roll over to {t}",
              "navigate to {t}", "get yourself to {t}", "proceed to {t}", "go over to {t}",
              "reach {t}", "park on {t}"],
    "test": ["visit {t}", "make your way to {t}", "travel to {t}", "stop at {t}",
             "head over to {t}"],
}
GO_HOME = {
    "train": ["go home", "return home", "head home", "go back to the home pad"],
    "test": ["come back home", "return to the home pad"],
}
PUSH = {
    "train": ["push {o} into {t}", "push {o} to {t}", "shove {o} into {t}", "move {o} into {t}",
              "slide {o} over to {t}", "get {o} into {t}", "put {o} in {t}",
              "place {o} inside {t}", "nudge {o} into {t}"],
    "test": ["bring {o} to {t}", "deliver {o} to {t}", "roll {o} into {t}",
             "send {o} over to {t}"],
}
ALL_BLOCKS = {
    "train": ["put every block in the zone of its colour", "sort the blocks by colour",
              "push each block into the zone of the same colour"],
    "test": ["match every block with its zone", "get all the blocks into their matching zones"],
}
CONNECT = {
    "train": [", then ", " and then ", ". Then ", ", after that ", ". Next, ", "; then ",
              ", and next "],
    "test": [", and afterwards ", ". After that, ", ". Once done, ", ", and once that's done, "],
}
# Sentence shapes; {c1}..{cn} are clauses. "before"/"after" shapes give two clauses in an
# order other than the order of execution.
SHAPES = {
    "train": ["seq", "first_finally", "steps", "before_you", "then_before"],
    "test": ["seq", "to_begin", "but_first", "after_you"],
}


class Task(BaseModel):
    """An instruction for one seeded scene and the subgoals it means, in order."""

    model_config = ConfigDict(frozen=True)

    scenario: str
    seed: int
    instruction: str
    subgoals: list[Subgoal]
    split: Split


class _Symbolic:
    """Where things are, in words, while clauses are drawn; rules out clauses already true."""

    def __init__(self, world: World):
        layout = world.layout
        self.agent_at = next((t.name for t in layout.targets
                              if world.holds(Subgoal(skill="go", object=AGENT, target=t.name))),
                             None)
        self.block_in = {
            b.name: next((t.name for t in layout.targets if t.kind == "zone" and world.holds(
                Subgoal(skill="push", object=b.name, target=t.name))), None)
            for b in layout.blocks
        }

    def trivial(self, s: Subgoal) -> bool:
        if s.skill == "go":
            return self.agent_at == s.target
        return s.target in self.block_in.values()

    def apply(self, s: Subgoal) -> None:
        if s.skill == "go":
            self.agent_at = s.target
        else:
            self.block_in[s.object] = s.target
            self.agent_at = None


def _target_ref(layout: Layout, name: str, rng: np.random.Generator, split: Split) -> str:
    t = layout.target(name)
    if t.room is None or t.colour == "home":
        return f"the {name}"
    alone = sum(1 for x in layout.targets if x.room == t.room) == 1
    choices = [f"the {name}", f"the {name} in the {t.room}"]
    if alone:
        choices.append(f"the pad in the {t.room}" if split == "train"
                       else f"the {t.room}'s pad")
    return str(rng.choice(choices))


def phrase(layout: Layout, subgoals: list[Subgoal], rng: np.random.Generator,
           split: Split) -> str:
    """One instruction for `subgoals` (in execution order), phrased with the `split`'s verbs,
    connectors and sentence shapes; `rng` chooses among them."""
    return _sentence([_clause(layout, s, rng, split) for s in subgoals], rng, split)


def _clause(layout: Layout, s: Subgoal, rng: np.random.Generator, split: Split) -> str:
    if s.skill == "go" and s.target == "home pad" and rng.random() < 0.6:
        return str(rng.choice(GO_HOME[split]))
    if s.skill == "go":
        return str(rng.choice(GO[split])).format(t=_target_ref(layout, s.target, rng, split))
    return str(rng.choice(PUSH[split])).format(o=f"the {s.object}", t=f"the {s.target}")


def _sentence(clauses: list[str], rng: np.random.Generator, split: Split) -> str:
    """Join clauses, given in execution order, into one instruction."""
    n = len(clauses)
    shapes = [s for s in SHAPES[split]
              if n == 2 or s not in ("before_you", "then_before", "but_first", "after_you")]
    if n == 1:
        shapes = ["seq"]
    shape = str(rng.choice(shapes))
    c = clauses
    if shape == "seq":
        text = c[0]
        for x in c[1:]:
            conn = str(rng.choice(CONNECT[split]))
            text += conn + (x[0].upper() + x[1:] if conn.rstrip().endswith(".") else x)
    elif shape == "first_finally":
        middle = "".join(f", then {x}" for x in c[1:-1])
        text = f"first {c[0]}{middle}, and finally {c[-1]}"
    elif shape == "steps":
        text = " ".join(f"Step {i + 1}: {x}." for i, x in enumerate(c))
    elif shape == "to_begin":
        middle = "".join(f"; after that, {x}" for x in c[1:-1])
        text = f"to begin, {c[0]}{middle}; to finish, {c[-1]}"
    elif shape == "before_you":  # "before you B, A" -> A, B
        text = f"before you {c[1]}, {c[0]}"
    elif shape == "then_before":  # "A before you B" -> A, B
        text = f"{c[0]} before you {c[1]}"
    elif shape == "but_first":  # "B, but first A" -> A, B
        text = f"{c[1]}, but first {c[0]}"
    else:  # after_you: "B after you A" -> A, B
        text = f"{c[1]} after you {c[0]}"
    text = text[0].upper() + text[1:]
    if not text.endswith(".") and rng.random() < 0.7:
        text += "."
    return text


def _draw_subgoal(layout: Layout, sym: _Symbolic, rng: np.random.Generator) -> Subgoal | None:
    zones = [t.name for t in layout.targets if t.kind == "zone"]
    for _ in range(50):
        if layout.pushable and rng.random() < 0.7:
            s = Subgoal(skill="push", object=str(rng.choice([b.name for b in layout.pushable])),
                        target=str(rng.choice(zones)))
        else:
            s = Subgoal(skill="go", object=AGENT,
                        target=str(rng.choice([t.name for t in layout.targets])))
        if not sym.trivial(s):
            return s
    return None


def make_task(scenario: str, seed: int, n_subgoals: int, split: Split,
              rng: np.random.Generator) -> Task | None:
    """One instruction of `n_subgoals` subgoals for scene `seed`, or None if none fits."""
    world = World(get(scenario).layout(seed))
    layout = world.layout
    sym = _Symbolic(world)
    clauses: list[str] = []
    subgoals: list[Subgoal] = []
    zones = {t.colour: t.name for t in layout.targets if t.kind == "zone"}
    matching = all(b.colour in zones for b in layout.pushable) and len(layout.pushable) > 1
    if matching and n_subgoals >= len(layout.pushable) and rng.random() < 0.5:
        sorted_all = [Subgoal(skill="push", object=b.name, target=zones[b.colour])
                      for b in layout.pushable]
        if not any(sym.trivial(s) for s in sorted_all):
            clauses.append(str(rng.choice(ALL_BLOCKS[split])))
            subgoals += sorted_all
            for s in sorted_all:
                sym.apply(s)
    while len(subgoals) < n_subgoals:
        s = _draw_subgoal(layout, sym, rng)
        if s is None:
            return None
        clauses.append(_clause(layout, s, rng, split))
        subgoals.append(s)
        sym.apply(s)
    if len(subgoals) != n_subgoals:
        return None
    text = _sentence(clauses, rng, split)
    return Task(scenario=scenario, seed=seed, instruction=text, subgoals=subgoals, split=split)


def generate(scenario: str, n: int, split: Split = "train", seed: int = 0,
             subgoals: tuple[int, ...] = (1, 2, 3, 4, 5, 6)) -> Iterator[Task]:
    """`n` tasks on scene seeds seed, seed+1, ...; the subgoal count cycles through `subgoals`.

    The same arguments always give the same tasks.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
    rng = np.random.default_rng([seed, 7 if split == "train" else 11])
    made, scene_seed = 0, seed
    while made < n:
        k = subgoals[made % len(subgoals)]
        task = make_task(scenario, scene_seed, k, split, rng)
        scene_seed += 1
        if task is not None:
            made += 1
            yield task
