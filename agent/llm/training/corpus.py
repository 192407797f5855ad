"""The planner's fine-tuning corpus: the scenarios' training split, plus train-only variety.

Held-out accuracy follows template variety, not step count (docs/architecture.md), so besides the
scenarios' `train` instructions this adds re-worded copies built from phrasings of its own
(`EXTRA_*`), and revision examples (what is left after a failed subgoal). None of the extra
phrasings is one of the scenarios' `test` phrasings; a unit test keeps it so.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from agent.understand.decompose import coverage_problems
from agent.understand.prompts import answer, plan_messages, repair_message, revise_messages
from scenarios import get, names
from scenarios import requests as typed
from scenarios.instructions import ALL_BLOCKS, Task, generate
from scenarios.scene import SceneDescription
from scenarios.subgoals import Plan, Subgoal

EXTRA_GO = ["walk to {t}", "get to {t}", "steer to {t}", "move over to {t}",
            "continue to {t}", "drive over to {t}", "position yourself on {t}",
            "end up at {t}", "go and stand on {t}", "wander over to {t}", "hurry to {t}",
            "swing by {t}", "pull up at {t}", "finish your route at {t}",
            "roam over to {t}", "dash to {t}", "check in at {t}", "find your way to {t}",
            "get yourself over to {t}", "land on {t}", "pass by {t}", "cruise to {t}",
            "relocate to {t}", "sit on {t}", "wait at {t}"]
EXTRA_GO_HOME = ["get back home", "walk home", "drive back home", "head back home",
                 "go back home", "return to base", "finish back at the home pad",
                 "end up back home", "go to your home pad", "get back to the home pad"]
EXTRA_PUSH = ["drive {o} into {t}", "take {o} to {t}", "carry {o} to {t}", "guide {o} into {t}",
              "transport {o} to {t}", "get {o} over to {t}", "move {o} over to {t}",
              "drag {o} into {t}", "haul {o} to {t}", "escort {o} to {t}",
              "bump {o} into {t}", "steer {o} to {t}", "herd {o} into {t}",
              "relocate {o} to {t}", "ship {o} over to {t}", "usher {o} into {t}",
              "walk {o} over to {t}", "tow {o} to {t}", "drop {o} off in {t}",
              "deposit {o} in {t}", "return {o} to {t}", "hand {o} over to {t}",
              "kick {o} into {t}", "lead {o} to {t}", "post {o} to {t}"]
EXTRA_ALL_BLOCKS = ["put each block into the zone that has its colour",
                    "tidy the blocks into the zones of their colours",
                    "pair every block with the zone of its colour",
                    "move all blocks to the zones that share their colours",
                    "clean up: every block goes to its own colour's zone",
                    "arrange the blocks so each sits in its colour's zone"]
EXTRA_CONNECT = [", next ", "; next, ", ", subsequently ", ". Later, ", ", and later ",
                 " then ", ", followed by this: ", ". When that is finished, ", ", and also ",
                 ". Having done that, ", "; when finished, ", ". Afterward, ", " and ",
                 ". Second, ", ", plus ", ". As the next thing, ", " - then "]
# Two-clause shapes in execution order (c0 first) and in reverse order.
EXTRA_PAIR = ["{c0}, and when you are there, {c1}", "{c1}. Before that, {c0}",
              "{c1}; beforehand, {c0}", "start by doing this: {c0}. Then {c1}",
              "{c1}, but before that, {c0}", "{c1}; prior to that, {c0}",
              "{c1}. Do this beforehand: {c0}", "{c1} (and before it, {c0})",
              "{c1}, though ahead of that {c0}", "{c1} - yet {c0} must happen earlier",
              "{c1}. Earlier than that, {c0}", "{c1}, but start with this: {c0}",
              "{c1}; however, beforehand {c0}", "{c1}. Prior to it: {c0}",
              "{c0} and only then {c1}", "{c0}; when you have, {c1}",
              "{c1}, but do this first: {c0}", "{c1}, but only after this: {c0}",
              "{c1} - do it after this: {c0}", "{c1}; first of all, though, {c0}",
              "{c1}, yet start by doing this: {c0}", "{c1}, though {c0} comes first",
              "{c1}. First, however, {c0}", "{c1} (do this before it: {c0})",
              "{c1}, but to start, {c0}", "{c1}, but initially {c0}",
              "{c1}, yet before anything else, {c0}", "{c1} after doing this: {c0}",
              "{c1}, and do it after this: {c0}", "{c1}, following this: {c0}",
              "{c1}, after this step: {c0}", "{c1} after the following: {c0}",
              "{c1}, but at the start, {c0}", "{c1}, but as a first step, {c0}",
              "{c1}, yet {c0} before it", "{c1} - but before doing so, {c0}",
              "{c1} later; {c0} now", "{c1}; that comes after {c0}",
              "{c1} as the second thing; as the first thing, {c0}",
              "{c0}, and after that is done, {c1}", "{c0}; later on, {c1}",
              "{c0} - afterward {c1}", "{c0}, and when finished with that, {c1}"]
# Shapes for any number of clauses, in execution order.
EXTRA_MANY = ["initially {first}{middle}, and lastly {last}",
              "start with this: {first}{middle}; end with this: {last}",
              "kick off by doing this: {first}{middle}. Wrap up like this: {last}",
              "opening move: {first}{middle}. Final move: {last}",
              "as a start, {first}{middle}; as the last thing, {last}",
              "begin by doing this: {first}{middle}; conclude with this: {last}",
              "the opening task: {first}{middle}; the closing task: {last}",
              "at the outset, {first}{middle}; at the very end, {last}",
              "for starters, {first}{middle}; lastly, {last}"]
# Made-up verbs and connectors: with them the skill can only come from the sentence's shape
# (a block named, "into"/"to" a target), not from a verb the model has memorised.
SYLLABLES = ["bl", "fr", "gr", "st", "pl", "tr", "sn", "kr", "m", "z", "v", "d", "sh", "w"]
VOWELS = ["a", "o", "i", "u", "e", "oo", "ee"]
PSEUDO_GO = ["{v} to {t}", "{v} over to {t}", "{v} {t}", "{v} on over to {t}", "{v} onto {t}",
             "{v} at {t}", "{v} your way to {t}", "{v} yourself over to {t}", "{v} by {t}",
             "{v} on {t}", "{v} off to {t}"]
PSEUDO_HOME = ["{v} home", "{v} back home", "{v} back to the home pad", "{v} on home"]
PSEUDO_PUSH = ["{v} {o} into {t}", "{v} {o} to {t}", "{v} {o} over to {t}", "{v} {o} onto {t}",
               "{v} {o} in {t}", "{v} {o} off to {t}", "{v} {o} along to {t}",
               "{v} {o} across to {t}"]
PSEUDO_CONNECT = [", and {w} ", ". {W}, ", "; {w}, ", ", {w}, ", " and {w} ",
                  ", and {w} {w2}, ", ". {W} {w2}, ", ", and when {w}, ", ". When {w}, ",
                  ", and {w} that is {w2}, ", "; {w} {w2}, "]
# A pad named by its room alone. No possessive ("the X room's pad"): that is the test split's.
ROOM_ONLY = ["the pad of the {r}", "the {r} pad", "the only pad in the {r}", "the {r}, its pad",
             "the pad inside the {r}", "whatever pad is in the {r}", "the pad located in the {r}",
             "the pad that sits in the {r}", "the {r}: its pad", "the pad belonging to the {r}",
             "the pad over in the {r}", "the pad within the {r}", "the pad the {r} has",
             "that {r} pad", "the pad you find in the {r}", "the pad from the {r}",
             "the {r} one (its pad)", "the pad that belongs to the {r}",
             "the pad found in the {r}", "the lone pad of the {r}", "the {r}-pad",
             "the pad sitting in the {r}", "the pad that the {r} contains",
             "the pad there is in the {r}", "the single pad of the {r}"]
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


def pseudo_verb(text: str, rng: np.random.Generator) -> str:
    """`text` with its first word (the verb of a relation request: "Park to the left of ...")
    made up, so that the relation has to be read from the words after it."""
    first, _, rest = text.partition(" ")
    return pseudo_word(rng).capitalize() + " " + rest


def _target_ref(t, rng: np.random.Generator, alone: bool = False) -> str:
    ref = f"the {t.name}"
    if t.room and t.colour != "home":
        r = rng.random()
        if r < 0.25:
            ref += f" in the {t.room}"
        elif r < 0.32:
            ref += f" (the one in the {t.room})"
        elif r < 0.65 and alone:
            # Named by its room alone: the pad must be looked up in the scene list.
            ref = str(rng.choice(ROOM_ONLY)).format(r=t.room)
    return ref


def _clause(s: Subgoal, scene: SceneDescription, rng: np.random.Generator,
            pseudo: bool = False) -> str:
    t = next(x for x in scene.targets if x.name == s.target)
    if s.skill == "go" and t.name == "home pad" and rng.random() < 0.5:
        if pseudo:
            return str(rng.choice(PSEUDO_HOME)).format(v=pseudo_word(rng))
        return str(rng.choice(EXTRA_GO_HOME))
    alone = sum(1 for x in scene.targets if x.room == t.room) == 1
    ref = _target_ref(t, rng, alone)
    if pseudo:
        v = pseudo_word(rng)
        if s.skill == "go":
            return str(rng.choice(PSEUDO_GO)).format(v=v, t=ref)
        return str(rng.choice(PSEUDO_PUSH)).format(v=v, o=f"the {s.object}", t=ref)
    if s.skill == "go":
        return str(rng.choice(EXTRA_GO)).format(t=ref)
    return str(rng.choice(EXTRA_PUSH)).format(o=f"the {s.object}", t=ref)


def _join(c: list[str], rng: np.random.Generator, pseudo: bool) -> str:
    """Clauses, in execution order, in one of the extra sentence shapes."""
    r = rng.random()
    if len(c) == 2 and r < 0.6:
        return str(rng.choice(EXTRA_PAIR)).format(c0=c[0], c1=c[1])
    # Long instructions mostly as running text: the held-out ones are, and keeping track of
    # the clauses there is what fails (dropped or repeated subgoals).
    if len(c) > 1 and (r < 0.2 or 0.6 <= r < 0.7):
        return " ".join(f"{i + 1}) {x}." for i, x in enumerate(c))
    if len(c) > 2 and r < 0.5:
        middle = "".join(str(rng.choice([", then ", ", next ", "; after it, ", ", and then ",
                                                 "; next, ", ", later "]))
                         + x for x in c[1:-1])
        return str(rng.choice(EXTRA_MANY)).format(first=c[0], middle=middle, last=c[-1])
    text = c[0]
    for x in c[1:]:
        if pseudo and rng.random() < 0.5:
            w = pseudo_word(rng)
            conn = str(rng.choice(PSEUDO_CONNECT)).format(w=w, W=w.capitalize(),
                                                          w2=pseudo_word(rng))
        else:
            conn = str(rng.choice(EXTRA_CONNECT))
        text += conn + (x[0].upper() + x[1:] if conn.rstrip().endswith((".", ":")) else x)
    return text


def reword(task: Task, scene: SceneDescription, rng: np.random.Generator,
           pseudo_share: float = 0.0) -> str:
    """`task`'s subgoals said again with the extra, train-only phrasings."""
    pseudo = rng.random() < pseudo_share
    subgoals = list(task.subgoals)
    c: list[str] = []
    if any(p in task.instruction.lower() for p in ALL_BLOCKS["train"]):
        # The generator puts the "every block" clause first: one clause for that many pushes.
        k = sum(1 for o in scene.objects if o.kind == "block")
        c.append(str(rng.choice(EXTRA_ALL_BLOCKS)))
        subgoals = subgoals[k:]
    c += [_clause(s, scene, rng, pseudo and rng.random() < 0.8) for s in subgoals]
    text = _join(c, rng, pseudo)
    end = "." if not text.endswith(".") and rng.random() < 0.6 else ""
    return text[0].upper() + text[1:] + end


def wrong_plan(plan: Plan, scene: SceneDescription, instruction: str,
               rng: np.random.Generator) -> tuple[Plan, list[str]] | None:
    """A plausible wrong answer that `coverage_problems` catches, with what it says of it.

    The mistakes the model makes: a subgoal dropped, or a target swapped for another (a room
    looked up wrongly). None when no such mistake is caught in this instruction.
    """
    subgoals = list(plan.subgoals)
    for _ in range(6):
        wrong = list(subgoals)
        i = int(rng.integers(0, len(wrong)))
        if len(wrong) > 1 and rng.random() < 0.4:
            del wrong[i]
        else:
            s = wrong[i]
            kind = "zone" if s.skill == "push" else None
            others = [t.name for t in scene.targets
                      if t.name != s.target and (kind is None or t.kind == kind)]
            if not others:
                continue
            wrong[i] = s.model_copy(update={"target": str(rng.choice(others))})
        problems = coverage_problems(scene, instruction, Plan(subgoals=wrong))
        if problems:
            return Plan(subgoals=wrong), problems
    return None


def examples(per_family: int = 400, seed: int = 0, reworded: float = 0.35,
             revisions: float = 0.12, pseudo: float = 0.0,
             repairs: float = 0.0, requests: int = 0) -> Iterator[Example]:
    """Training examples from each family's `train` split, with re-worded, repair and revision
    extras, and `requests` typed messages per family (`scenarios.requests`: relations, avoid,
    questions, what-ifs, absent or ambiguous names, impossible requests, stop). A repair
    example answers `repair_message` after a wrong first answer."""
    rng = np.random.default_rng(seed)
    for family in names():
        for req in typed.generate(family, requests, split="train", seed=seed):
            scene = SceneDescription.from_layout(get(family).layout(req.seed))
            yield Example(plan_messages(scene, req.text), answer(req.reply))
            if req.kind == "relation" and rng.random() < pseudo:
                yield Example(plan_messages(scene, pseudo_verb(req.text, rng)), answer(req.reply))
        for task in generate(family, per_family, split="train", seed=seed):
            scene = SceneDescription.from_layout(get(family).layout(task.seed))
            plan = Plan(subgoals=task.subgoals)
            yield Example(plan_messages(scene, task.instruction), answer(plan))
            text = task.instruction
            if rng.random() < reworded:
                text = reword(task, scene, rng, pseudo)
                yield Example(plan_messages(scene, text), answer(plan))
            if rng.random() < repairs and (bad := wrong_plan(plan, scene, text, rng)):
                msgs = [*plan_messages(scene, text),
                        {"role": "assistant", "content": answer(bad[0])}, repair_message(bad[1])]
                yield Example(msgs, answer(plan))
            if len(task.subgoals) > 1 and rng.random() < revisions:
                k = int(rng.integers(0, len(task.subgoals)))
                left = Plan(subgoals=task.subgoals[k:])
                msgs = revise_messages(scene, task.instruction, task.subgoals[:k],
                                       task.subgoals[k], str(rng.choice(REASONS)))
                yield Example(msgs, answer(left))
