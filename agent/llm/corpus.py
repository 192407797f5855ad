"""The planner's fine-tuning corpus: the scenarios' training split, plus train-only variety.

Held-out accuracy follows template variety, not step count (DESIGN.md), so besides the
scenarios' `train` instructions this adds re-worded copies built from phrasings of its own
(`EXTRA_*`), and revision examples (what is left after a failed subgoal). None of the extra
phrasings is one of the scenarios' `test` phrasings; a unit test keeps it so.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from agent.llm.prompts import answer, plan_messages, revise_messages
from scenarios import get, names
from scenarios.instructions import ALL_BLOCKS, Task, generate
from scenarios.scene import SceneDescription
from scenarios.subgoals import Plan, Subgoal

EXTRA_GO = ["walk to {t}", "get to {t}", "steer to {t}", "move over to {t}",
            "continue to {t}", "drive over to {t}", "position yourself on {t}",
            "end up at {t}", "go and stand on {t}"]
EXTRA_PUSH = ["drive {o} into {t}", "take {o} to {t}", "carry {o} to {t}", "guide {o} into {t}",
              "transport {o} to {t}", "get {o} over to {t}", "move {o} over to {t}",
              "drag {o} into {t}"]
EXTRA_CONNECT = [", next ", "; next, ", ", subsequently ", ". Later, ", ", and later ",
                 " then "]
# Two-clause shapes in execution order (c0 first) and in reverse order.
EXTRA_PAIR = ["{c0}, and when you are there, {c1}", "{c1}. Before that, {c0}",
              "{c1}; beforehand, {c0}", "start by doing this: {c0}. Then {c1}"]
# Made-up verbs and connectors: with them the skill can only come from the sentence's shape
# (a block named, "into"/"to" a target), not from a verb the model has memorised.
SYLLABLES = ["bl", "fr", "gr", "st", "pl", "tr", "sn", "kr", "m", "z", "v", "d", "sh", "w"]
VOWELS = ["a", "o", "i", "u", "e", "oo", "ee"]
PSEUDO_GO = ["{v} to {t}", "{v} over to {t}", "{v} {t}", "{v} on over to {t}", "{v} onto {t}"]
PSEUDO_PUSH = ["{v} {o} into {t}", "{v} {o} to {t}", "{v} {o} over to {t}", "{v} {o} onto {t}"]
PSEUDO_CONNECT = [", and {w} ", ". {W}, ", "; {w}, ", ", {w}, ", " and {w} "]
REASONS = ["the world model could not reach it", "the block got stuck", "it timed out",
           "the check failed afterwards", "the agent was blocked by a wall"]


@dataclass(frozen=True)
class Example:
    """One chat (system, user) and the answer the model should give."""

    messages: list[dict]
    target: str


# Real words a made-up one must not turn into ("st" + "o" + "p" is "stop", a test verb).
REAL = {"stop", "visit", "bring", "send", "deliver", "travel", "come", "make", "roll", "match",
        "once", "after", "done", "go", "move", "push", "put", "get", "head", "reach", "shove",
        "slide", "nudge", "place", "park", "drive", "steer", "walk", "take", "carry", "drag"}


def pseudo_word(rng: np.random.Generator) -> str:
    """A pronounceable made-up word such as 'blomez'."""
    while True:
        n = int(rng.integers(1, 3))
        word = "".join(str(rng.choice(SYLLABLES)) + str(rng.choice(VOWELS)) for _ in range(n))
        word += str(rng.choice(["", "t", "sh", "m", "k", "p"]))
        if word not in REAL:
            return word


def _clause(s: Subgoal, scene: SceneDescription, rng: np.random.Generator,
            pseudo: bool = False) -> str:
    t = next(x for x in scene.targets if x.name == s.target)
    ref = f"the {t.name}"
    if t.room and t.colour != "home" and rng.random() < 0.4:
        ref += f" in the {t.room}"
    if pseudo:
        v = pseudo_word(rng)
        if s.skill == "go":
            return str(rng.choice(PSEUDO_GO)).format(v=v, t=ref)
        return str(rng.choice(PSEUDO_PUSH)).format(v=v, o=f"the {s.object}", t=ref)
    if s.skill == "go":
        return str(rng.choice(EXTRA_GO)).format(t=ref)
    return str(rng.choice(EXTRA_PUSH)).format(o=f"the {s.object}", t=ref)


def reword(task: Task, scene: SceneDescription, rng: np.random.Generator,
           pseudo_share: float = 0.0) -> str:
    """`task`'s subgoals said again with the extra, train-only phrasings."""
    pseudo = rng.random() < pseudo_share
    c = [_clause(s, scene, rng, pseudo and rng.random() < 0.8) for s in task.subgoals]
    if len(c) == 2 and rng.random() < 0.5:
        text = str(rng.choice(EXTRA_PAIR)).format(c0=c[0], c1=c[1])
    elif len(c) > 1 and rng.random() < 0.3:
        text = " ".join(f"{i + 1}) {x}." for i, x in enumerate(c))
    else:
        text = c[0]
        for x in c[1:]:
            if pseudo and rng.random() < 0.5:
                w = pseudo_word(rng)
                conn = str(rng.choice(PSEUDO_CONNECT)).format(w=w, W=w.capitalize())
            else:
                conn = str(rng.choice(EXTRA_CONNECT))
            text += conn + (x[0].upper() + x[1:] if conn.rstrip().endswith(".") else x)
    end = "." if not text.endswith(".") and rng.random() < 0.6 else ""
    return text[0].upper() + text[1:] + end


def examples(per_family: int = 400, seed: int = 0, reworded: float = 0.35,
             revisions: float = 0.12, pseudo: float = 0.0) -> Iterator[Example]:
    """Training examples from each family's `train` split, with re-worded and revision extras."""
    rng = np.random.default_rng(seed)
    for family in names():
        for task in generate(family, per_family, split="train", seed=seed):
            scene = SceneDescription.from_layout(get(family).layout(task.seed))
            plan = Plan(subgoals=task.subgoals)
            yield Example(plan_messages(scene, task.instruction), answer(plan))
            whole = any(p in task.instruction.lower() for p in ALL_BLOCKS["train"])
            if not whole and rng.random() < reworded:
                text = reword(task, scene, rng, pseudo)
                yield Example(plan_messages(scene, text), answer(plan))
            if len(task.subgoals) > 1 and rng.random() < revisions:
                k = int(rng.integers(0, len(task.subgoals)))
                left = Plan(subgoals=task.subgoals[k:])
                msgs = revise_messages(scene, task.instruction, task.subgoals[:k],
                                       task.subgoals[k], str(rng.choice(REASONS)))
                yield Example(msgs, answer(left))
