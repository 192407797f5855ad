"""Instruction -> ordered, validated subgoals, with one repair round and clarification.

`decompose` first looks for names the scene lacks ("the pink block" when there is none): then
it asks the person instead of guessing. Otherwise the LLM answers under a schema built from
the scene's names; the plan is validated against the scene, and on failure the model sees
what was wrong once more. `revise` asks for the work left after a failed subgoal.
"""

from __future__ import annotations

import json
import re

from pydantic import BaseModel, ConfigDict, ValidationError

from agent.llm.base import InvalidAnswer, LLMBackend, Usage
from agent.understand.prompts import plan_messages, repair_message, revise_messages
from scenarios.scene import SceneDescription
from scenarios.subgoals import AGENT, Plan, Subgoal

MAX_SUBGOALS = 12
COLOURS = ("red green blue yellow orange purple pink white black grey gray brown cyan magenta "
           "violet teal gold silver beige turquoise indigo lime navy maroon home").split()
NOUNS = {"block": "block", "blocks": "block", "cube": "block", "cubes": "block", "box": "block",
         "boxes": "block", "pad": "pad", "pads": "pad", "zone": "zone", "zones": "zone"}
_NAMED = re.compile(rf"\b({'|'.join(COLOURS)})\s+({'|'.join(NOUNS)})\b", re.IGNORECASE)
_ROOM = re.compile(r"\b(north|south)[- ]?(east|west)\s+room\b", re.IGNORECASE)


class Decomposition(BaseModel):
    """The outcome of asking for a plan: a plan, or a question for the person, never both."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    plan: Plan | None = None
    question: str | None = None
    """A clarification for the person when the instruction cannot be planned as said."""
    problems: list[str] = []
    """What was wrong with the instruction or the last answer. With a `plan`, only what the
    plan may have missed of the instruction (`coverage_problems`) after the repair round."""
    usage: Usage = Usage()
    attempts: int = 0
    """LLM calls made (0 when the instruction was refused before asking the model)."""
    raw: list[str] = []
    """The model's answers as text, one per attempt."""


def plan_schema(scene: SceneDescription) -> dict:
    """JSON schema of a Plan whose skills, objects and targets are this scene's names.

    `go` subgoals have object "agent" and any target; `push` subgoals move one of the blocks
    into one of the zones, so a schema-constrained answer cannot name what is not there.
    """
    zones = [t.name for t in scene.targets if t.kind == "zone"]

    def subgoal(skill: str, objects: list[str], targets: list[str]) -> dict:
        return {"type": "object", "additionalProperties": False,
                "required": ["skill", "object", "target"],
                "properties": {"skill": {"type": "string", "enum": [skill]},
                               "object": {"type": "string", "enum": objects},
                               "target": {"type": "string", "enum": targets}}}

    kinds = [subgoal("go", [AGENT], scene.target_names)]
    if scene.block_names and zones:
        kinds.append(subgoal("push", scene.block_names, zones))
    return {"title": "Plan", "type": "object", "additionalProperties": False,
            "required": ["subgoals"],
            "properties": {"subgoals": {"type": "array", "minItems": 1,
                                        "maxItems": MAX_SUBGOALS,
                                        "items": kinds[0] if len(kinds) == 1
                                        else {"anyOf": kinds}}}}


def _named(instruction: str) -> list[tuple[str, str]]:
    """(colour + kind name, kind) of each "<colour> <noun>" the instruction says, in order."""
    return [(f"{c.lower()} {NOUNS[n.lower()]}", NOUNS[n.lower()]) for c, n in
            _NAMED.findall(instruction)]


def _rooms(instruction: str) -> list[str]:
    """The room names the instruction says ("north-west room"), each once, in order."""
    return list(dict.fromkeys(f"{ns.lower()}-{ew.lower()} room"
                              for ns, ew in _ROOM.findall(instruction)))


def absent_names(scene: SceneDescription, instruction: str) -> list[str]:
    """Sentences about things `instruction` names that `scene` does not have."""
    names = set(scene.block_names) | set(scene.target_names)
    out = []
    for name, kind in _named(instruction):
        if name in names:
            continue
        colour = name.split()[0]
        same_colour = sorted(n for n in names if n.split()[0] == colour)
        hint = f"; did you mean the {' or the '.join(same_colour)}?" if same_colour else ""
        have = [n for n in sorted(names) if n.endswith(kind)]
        listed = f" (the {kind}s here: {', '.join(have)})" if have and not hint else ""
        out.append(f"there is no {name} here{listed}{hint}")
    rooms = {r.name for r in scene.rooms}
    for room in _rooms(instruction):
        if room not in rooms:
            out.append(f"there is no {room} here" + (
                f" (rooms: {', '.join(sorted(rooms))})" if rooms else " (it has no rooms)"))
    words = set(re.findall(r"[a-z]+", instruction.lower()))
    if not scene.block_names and words & {"block", "blocks", "cube", "cubes", "box", "boxes"}:
        out.append("there are no blocks in this scene")
    return list(dict.fromkeys(out))


def coverage_problems(scene: SceneDescription, instruction: str, plan: Plan) -> list[str]:
    """What `instruction` names that `plan` leaves out: a named thing used fewer times than it
    is named, or a named room that none of the plan's targets is in.

    Grounded in the scene, not in wording: it catches dropped clauses and rooms looked up
    wrongly ("the north-west room's pad" answered with a pad elsewhere), not a wrong order.
    """
    used: dict[str, int] = {}
    for s in plan.subgoals:
        for name in {s.target, s.object}:
            used[name] = used.get(name, 0) + 1
    names = set(scene.block_names) | set(scene.target_names)
    named: dict[str, int] = {}
    for name, _ in _named(instruction):
        if name in names:
            named[name] = named.get(name, 0) + 1
    out = []
    for name, k in named.items():
        if used.get(name, 0) < k:
            times = "once" if k == 1 else f"{k} times"
            have = used.get(name, 0)
            out.append(f"the instruction names the {name} {times}, but the plan uses it "
                       f"{'in no subgoal' if not have else f'in {have}'}")
    for room in _rooms(instruction):
        there = [t.name for t in scene.targets if t.room == room]
        if there and not any(used.get(t, 0) for t in there):
            out.append(f"the instruction names the {room}, but no subgoal goes there "
                       f"(in it: {', '.join(there)})")
    return out


def _question(problems: list[str]) -> str:
    first = problems[0][0].upper() + problems[0][1:]
    end = "" if first.endswith(("?", ".", "!")) else "."
    return f"{first}{end} What should I do instead?"


def _ask(backend: LLMBackend, scene: SceneDescription, messages: list[dict],
         instruction: str | None = None) -> Decomposition:
    """Ask, validate, and on failure repair once; give up with a question after that.

    With `instruction`, a plan that leaves out something it names is repaired too; if the
    repair still leaves something out, the valid plan that leaves out less is returned, with
    what it misses in `problems` (a named thing may rightly be left out: "avoid the red pad").
    """
    schema = plan_schema(scene)
    usage, raw, problems = Usage(), [], []
    best: tuple[Plan, list[str]] | None = None
    for _ in range(2):  # the answer, then one repair
        plan = None
        try:
            data, u = backend.complete(messages, schema)
            usage = usage + u
            text = json.dumps(data, separators=(",", ":"))
            plan = Plan.model_validate(data)
            problems = scene.problems(plan)
        except InvalidAnswer as e:
            text, problems = e.raw, [str(e)]
        except ValidationError as e:
            problems = [f"the answer is not a plan: {e.errors()[0]['msg']}"]
        raw.append(text)
        if plan is not None and not problems:
            missed = coverage_problems(scene, instruction, plan) if instruction else []
            if best is None or len(missed) < len(best[1]):
                best = (plan, missed)
            if not missed:
                break
            problems = missed
        messages = [*messages, {"role": "assistant", "content": text}, repair_message(problems)]
    if best is not None:
        return Decomposition(plan=best[0], problems=best[1], usage=usage, attempts=len(raw),
                             raw=raw)
    question = ("I could not make a plan that fits this scene: "
                f"{problems[0]}. Could you say it another way?")
    return Decomposition(question=question, problems=problems, usage=usage, attempts=2, raw=raw)


def decompose(backend: LLMBackend, scene: SceneDescription, instruction: str) -> Decomposition:
    """Turn `instruction` into a plan valid in `scene`, or a question for the person."""
    if not instruction.strip():
        raise ValueError("the instruction is empty: say what should happen, e.g. "
                         "'push the red block into the green zone, then go home'")
    absent = absent_names(scene, instruction)
    if absent:
        return Decomposition(question=_question(absent), problems=absent)
    return _ask(backend, scene, plan_messages(scene, instruction), instruction)


def revise(backend: LLMBackend, scene: SceneDescription, instruction: str,
           done: list[Subgoal], failed: Subgoal, reason: str) -> Decomposition:
    """A new plan for the work left after `failed` did not succeed for `reason`.

    `scene` should describe the world as it is now; `done` are the subgoals achieved so far.
    """
    return _ask(backend, scene, revise_messages(scene, instruction, done, failed, reason))
