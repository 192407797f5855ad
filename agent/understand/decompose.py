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
from scenarios.layout import Layout
from scenarios.registry import get
from scenarios.relations import feasible
from scenarios.replies import AMBIGUOUS, ASKS, REASONS, Reply
from scenarios.scene import SceneDescription
from scenarios.subgoals import AGENT, RELATIONS, Plan, Subgoal

MAX_SUBGOALS = 12
COLOURS = ("red green blue yellow orange purple pink white black grey gray brown cyan magenta "
           "violet teal gold silver beige turquoise indigo lime navy maroon home").split()
NOUNS = {"block": "block", "blocks": "block", "cube": "block", "cubes": "block", "box": "block",
         "boxes": "block", "pad": "pad", "pads": "pad", "zone": "zone", "zones": "zone"}
_NAMED = re.compile(rf"\b({'|'.join(COLOURS)})\s+({'|'.join(NOUNS)})\b", re.IGNORECASE)
_ROOM = re.compile(r"\b(north|south)[- ]?(east|west)\s+room\b", re.IGNORECASE)
# "the block" said bare: then a verb's preposition, a connective or the end of the clause,
# not a qualifier ("the zone of its colour", "the pad in the north-west room").
_BARE = re.compile(r"\bthe (block|pad|zone)\b(?=\s*(?:$|[.,;:!?)]|(?:into|to|onto|toward|towards|"
                   r"near|next|beside|and|then|first|please|now|before|after|left|right|above|"
                   r"below|north|south|east|west|up|down|over|for|across)\b))", re.IGNORECASE)


ACT_SURE = 0.9
"""Below this probability for `act` (another reading, a what-if or a question, got over 10%)
the agent asks before it moves. Fixed before it was measured, not tuned on the test split."""


class Decomposition(BaseModel):
    """The outcome of reading a message: the typed reply; for `act`, its plan; for `clarify`
    (or a message that names what the scene lacks), a question for the person. Never a plan
    and a question both."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    reply: Reply | None = None
    """the typed reading (None only when nothing usable came back)"""
    plan: Plan | None = None
    """the plan to carry out: set for `act` only (an `imagine` plan is in `reply.plan`)"""
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
    confidence: float | None = None
    """the probability the model gave the reply's intent against the other intents (from the
    call whose reply this is); None where the backend does not report it"""
    doubt: str | None = None
    """why a plan may not be what the person asked for (`doubts`); None when there is none"""

    @property
    def asks_first(self) -> bool:
        """A plan in doubt: the agent says what it understood and acts only when the person
        says yes. Nothing moves on a guess."""
        return self.plan is not None and self.doubt is not None


def _subgoal_kinds(scene: SceneDescription) -> list[dict]:
    """The subgoal shapes this scene allows: `go` to any target (with an optional relation),
    `push` a block into a zone, or with a relation to any target."""
    zones = [t.name for t in scene.targets if t.kind == "zone"]
    others = [r for r in RELATIONS if r != "in"]

    def subgoal(skill: str, objects: list[str], targets: list[str], relation: str) -> dict:
        props = {"skill": {"type": "string", "enum": [skill]},
                 "object": {"type": "string", "enum": objects}}
        required = ["skill", "object", "target"]
        if relation != "none":
            props["relation"] = {"type": "string", "enum": others}
            if relation == "required":
                required.insert(2, "relation")
        props["target"] = {"type": "string", "enum": targets}
        return {"type": "object", "additionalProperties": False, "required": required,
                "properties": props}

    kinds = [subgoal("go", [AGENT], scene.target_names, "optional")]
    if scene.block_names and zones:
        kinds.append(subgoal("push", scene.block_names, zones, "none"))
    if scene.block_names:
        kinds.append(subgoal("push", scene.block_names, scene.target_names, "required"))
    return kinds


def plan_schema(scene: SceneDescription) -> dict:
    """JSON schema of a Plan whose skills, objects, relations and targets are this scene's.

    `go` subgoals have object "agent" and any target; `push` subgoals move one of the blocks
    into one of the zones, or to a relation with any target; `avoid` names things of the
    scene. A schema-constrained answer cannot name what is not there.
    """
    kinds = _subgoal_kinds(scene)
    names = scene.block_names + scene.glass_names + scene.target_names
    return {"title": "Plan", "type": "object", "additionalProperties": False,
            "required": ["subgoals"],
            "properties": {"subgoals": {"type": "array", "minItems": 1,
                                        "maxItems": MAX_SUBGOALS,
                                        "items": kinds[0] if len(kinds) == 1
                                        else {"anyOf": kinds}},
                           "avoid": {"type": "array", "maxItems": 4,
                                     "items": {"type": "string", "enum": names}}}}


def reply_schema(scene: SceneDescription) -> dict:
    """JSON schema of a typed reply (`scenarios.replies.Reply`, without `text`) in this scene:
    one object per intent, each naming only what the scene has."""
    names = [AGENT] + scene.block_names + scene.glass_names + scene.target_names

    def intent(name: str, **props) -> dict:
        return {"type": "object", "additionalProperties": False,
                "required": ["intent", *[k for k in props if not k.startswith("_")]],
                "properties": {"intent": {"type": "string", "enum": [name]},
                               **{k.lstrip("_"): v for k, v in props.items()}}}

    plan = plan_schema(scene)
    movable = [AGENT] + scene.block_names + scene.glass_names

    def query_of(asks: list[str], **fields: list[str]) -> dict:
        return {"type": "object", "additionalProperties": False,
                "required": ["ask", *fields],
                "properties": {"ask": {"type": "string", "enum": asks},
                               **{k: {"type": "string", "enum": v} for k, v in fields.items()}}}

    # One shape per question, so that the grammar cannot ask "is the purple zone in?" or
    # "how far is the agent from the agent?"; the keys in the order the adapter learned.
    query = {"anyOf": [
        query_of(["where", "room"], object=names),
        query_of(["nearest", "farthest"], object=movable, kind=["block", "pad", "zone",
                                                                 "target"]),
        query_of(["is_in"], object=movable, target=scene.target_names),
        query_of(["distance"], object=movable, target=[n for n in names if n != AGENT]),
        query_of(["skills", "list"])]}
    assert {a for q in query["anyOf"] for a in q["properties"]["ask"]["enum"]} == set(ASKS)
    return {"title": "Reply", "anyOf": [
        intent("act", plan=plan), intent("imagine", plan=plan),
        intent("answer", query=query),
        intent("clarify", about={"type": "string", "minLength": 1, "maxLength": 40}),
        intent("cannot", reason={"type": "string", "enum": list(REASONS)},
               _thing={"type": "string", "enum": names}),
        intent("stop")]}


def _named(instruction: str) -> list[tuple[str, str]]:
    """(colour + kind name, kind) of each "<colour> <noun>" the instruction says, in order."""
    return [(f"{c.lower()} {NOUNS[n.lower()]}", NOUNS[n.lower()]) for c, n in
            _NAMED.findall(instruction)]


def _named_counts(scene: SceneDescription, instruction: str) -> dict[str, int]:
    """How often `instruction` says each "<colour> <kind>" name that `scene` has."""
    names = set(scene.block_names) | set(scene.target_names)
    out: dict[str, int] = {}
    for name, _ in _named(instruction):
        if name in names:
            out[name] = out.get(name, 0) + 1
    return out


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
    if "home" in words and "home pad" not in names:
        out.append(f"there is no home pad here (targets: {', '.join(scene.target_names)})")
    return list(dict.fromkeys(out))


def ambiguous_kinds(scene: SceneDescription, instruction: str) -> list[str]:
    """The kinds ("block", "pad", "zone") that `instruction` names bare ("push the block into
    the red zone") while the scene has several of them: which one is meant cannot be told."""
    count = {"block": len(scene.block_names),
             "pad": sum(t.kind == "pad" for t in scene.targets),
             "zone": sum(t.kind == "zone" for t in scene.targets)}
    said = [m.lower() for m in _BARE.findall(instruction)]
    return [k for k in dict.fromkeys(said) if count[k] > 1]


def repeats(plan: Plan) -> list[str]:
    """Subgoals that repeat an earlier one that nothing in between undid: a `go` is undone
    by any subgoal between (each moves the agent), a `push` only by another subgoal that
    moves the same block."""
    out = []
    for j, s in enumerate(plan.subgoals):
        for i in range(j - 1, -1, -1):
            between = plan.subgoals[i + 1:j]
            if plan.subgoals[i] == s and not (
                    between if s.skill == "go" else [b for b in between if b.object == s.object]):
                out.append(f"subgoal {j + 1} ({s.text()}) repeats subgoal {i + 1}, which "
                           "nothing in between undid")
                break
    return out


def mentions(scene: SceneDescription, instruction: str) -> dict[str, int]:
    """How often `instruction` names each of the scene's things: "<colour> <kind>", "home"
    for the home pad, a glass by its name, and a room for the pads in it."""
    names = set(scene.block_names) | set(scene.target_names)
    out = _named_counts(scene, instruction)
    if "home pad" in names:
        homes = len(re.findall(r"\bhome\b", instruction.lower()))
        out["home pad"] = max(out.get("home pad", 0), homes)
    for glass in scene.glass_names:
        said = len(re.findall(rf"\b{re.escape(glass)}\b", instruction.lower()))
        if said:
            out[glass] = said
    for ns, ew in _ROOM.findall(instruction):
        for t in scene.targets:
            if t.room == f"{ns.lower()}-{ew.lower()} room" and t.kind == "pad":
                out[t.name] = out.get(t.name, 0) + 1
    return out


_TARGET_WORDS = re.compile(r"\b(zones?|pads?|rooms?|home|match\w*|colou?rs?|own|"
                           r"corresponding|same)\b", re.IGNORECASE)


def doubts(scene: SceneDescription, instruction: str, plan: Plan,
           confidence: float | None) -> str | None:
    """Why a plan read from `instruction` may not be what the person asked for: the model
    gave another reading (a what-if, a question) more than 1 - ACT_SURE of its probability,
    or the plan takes something to a target while the message refers to no target at all
    ("hold the block up high" read as a push north of a zone). Never true of the generator's
    act messages (0 of 1,665, train and test splits); None when there is no doubt."""
    if confidence is not None and confidence < ACT_SURE:
        return f"I am only {100 * confidence:.0f}% sure you asked me to act"
    unsaid = unmentioned_target(scene, instruction, plan)
    return f"you did not mention the {unsaid.target}" if unsaid else None


def unmentioned_target(scene: SceneDescription, instruction: str, plan: Plan) -> Subgoal | None:
    """The first subgoal of `plan` taking something to a target that `instruction`, which
    refers to no target at all, never names ("push it to the west" read as a push into a
    zone); None otherwise. Fires on none of the generator's act or what-if messages."""
    if _TARGET_WORDS.search(instruction):
        return None
    said = mentions(scene, instruction)
    return next((s for s in plan.subgoals if not said.get(s.target)), None)


def where_to(unsaid: Subgoal, usage: Usage, raw: list[str]) -> Decomposition:
    """A what-if whose plan goes to a target the person never named: ask where, rather than
    answer about a place they did not mean."""
    what = "the agent" if unsaid.skill == "go" else f"the {unsaid.object}"
    question = (f"Where should {what} go? You did not name a place, and I would only be "
                f"guessing the {unsaid.target}. Ask again with one, e.g. 'what would happen if "
                f"{'you went' if unsaid.skill == 'go' else f'you pushed the {unsaid.object}'}"
                f" to the left of the {unsaid.target}?'")
    about = "where " + ("to go" if unsaid.skill == "go" else f"the {unsaid.object} goes")
    return Decomposition(reply=Reply(intent="clarify", about=about[:40], text=question),
                         question=question, problems=[f"you did not mention the {unsaid.target}"],
                         usage=usage, attempts=len(raw), raw=raw)


def unasked_avoids(scene: SceneDescription, instruction: str, plan: Plan) -> list[str]:
    """The names in `plan.avoid` that `instruction` does not name beyond the plan's own
    subgoals: a constraint the person never stated (the model's invention)."""
    said = mentions(scene, instruction)
    used = {n: sum(n in (s.object, s.target) for s in plan.subgoals) for n in plan.avoid}
    return [n for n in plan.avoid if said.get(n, 0) <= used[n]]


def without_repeats(plan: Plan) -> Plan:
    """`plan` without the subgoals that `repeats` finds: doing one again changes nothing."""
    keep: list[Subgoal] = []
    for s in plan.subgoals:
        if not repeats(Plan(subgoals=[*keep, s])):
            keep.append(s)
    return plan.model_copy(update={"subgoals": keep})


def plan_problems(scene: SceneDescription, plan: Plan, layout: Layout | None = None) -> list[str]:
    """What is wrong with `plan` in `scene`: names, skills and targets (`scene.problems`),
    relations with no room for them, an `avoid` that names what the plan must move or reach,
    and subgoals repeated for nothing. `layout` (default: the scene's registered one) is
    needed for the room check."""
    out = scene.problems(plan)
    if layout is None:
        try:
            layout = get(scene.scenario).layout(scene.seed)
        except (KeyError, ValueError):
            layout = None
    for i, sg in enumerate(plan.subgoals, 1):
        if (layout is not None and sg.relation != "in" and sg.target in scene.target_names
                and not feasible(layout, sg.relation, sg.target, sg.object)):
            out.append(f"subgoal {i} ({sg.text()}): there is no room for that here")
    names = set(scene.block_names) | set(scene.glass_names) | set(scene.target_names)
    used = {n for sg in plan.subgoals for n in (sg.object, sg.target)}
    for name in plan.avoid:
        if name not in names:
            out.append(f"avoid: there is no {name!r} here")
        elif name in used:
            out.append(f"avoid: the plan itself moves or reaches the {name}")
    return out + repeats(plan)


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
    for name in plan.avoid:  # named to be left alone: that is a use of it too
        used[name] = used.get(name, 0) + 1
    named = _named_counts(scene, instruction)
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


def clarify_problems(scene: SceneDescription, about: str) -> list[str]:
    """A clarify that asks about what the scene has: "which pad?" with one pad, or "no such
    thing" about a name that is there."""
    about = about.strip().lower().removeprefix("the ").strip()
    names = set(scene.block_names) | set(scene.target_names)
    if about in names:
        return [f"the {about} is in the scene: use it, or ask about something else"]
    if about in AMBIGUOUS:
        have = [o for o in scene.objects if o.kind == about] + [
            t for t in scene.targets if t.kind == about]
        if len(have) == 1:
            return [f"there is only one {about} here, the {have[0].name}: use it"]
    return []


def clarify_question(scene: SceneDescription, about: str) -> str:
    """The question back for a clarify reply: which one (an ambiguous kind), or what instead
    (a name the scene lacks)."""
    about = about.strip().lower().removeprefix("the ").strip()
    if about in AMBIGUOUS:
        have = [o.name for o in scene.objects if o.kind == about] + [
            t.name for t in scene.targets if t.kind == about]
        if len(have) > 1:
            return f"Which {about} do you mean: the {', the '.join(have[:-1])} or the {have[-1]}?"
    if about in ("home", "home pad"):
        return _question([f"there is no home pad here (targets: {', '.join(scene.target_names)})"])
    return _question([f"I cannot find the {about} here (I see: "
                      f"{', '.join(scene.block_names + scene.target_names)})"])


def _read(data: object) -> Reply:
    """A reply from decoded JSON; a bare plan (an older adapter, a server without the reply
    schema) is the reply `act`."""
    if isinstance(data, dict) and "intent" not in data and "subgoals" in data:
        return Reply(intent="act", plan=Plan.model_validate(data))
    return Reply.model_validate(data)


def _ask(backend: LLMBackend, scene: SceneDescription, messages: list[dict],
         instruction: str | None = None, schema: dict | None = None) -> Decomposition:
    """Ask, validate, and on failure repair once; give up with a question after that.

    With `instruction`, a plan that leaves out something it names is repaired too; if the
    repair still leaves something out, the valid reply that leaves out less is returned, with
    what it misses in `problems` (a named thing may rightly be left out: "avoid the red pad").
    """
    schema = schema or reply_schema(scene)
    usage, raw, problems = Usage(), [], []
    best: tuple[Reply, list[str], float | None] | None = None
    for _ in range(2):  # the answer, then one repair
        reply, u = None, Usage()
        try:
            data, u = backend.complete(messages, schema)
            usage = usage + u
            text = json.dumps(data, separators=(",", ":"))
            reply = _read(data)
            if reply.plan is not None:  # a repeat nothing undid is dropped, not sent back
                reply = reply.model_copy(update={"plan": without_repeats(reply.plan)})
            if reply.plan is not None and instruction and reply.plan.avoid:
                # an avoid the person never said is dropped, not obeyed or sent back
                extra = unasked_avoids(scene, instruction, reply.plan)
                keep = [n for n in reply.plan.avoid if n not in extra]
                reply = reply.model_copy(update={"plan": reply.plan.model_copy(
                    update={"avoid": keep})})
            problems = plan_problems(scene, reply.plan) if reply.plan is not None else []
            if reply.intent == "clarify":
                problems = clarify_problems(scene, reply.about or "")
        except InvalidAnswer as e:
            text, problems = e.raw, [str(e)]
        except ValidationError as e:
            problems = [f"the answer is not a reply: {e.errors()[0]['msg']}"]
        raw.append(text)
        if reply is not None and not problems:
            missed = (coverage_problems(scene, instruction, reply.plan)
                      if instruction and reply.plan is not None else [])
            if best is None or len(missed) < len(best[1]):
                best = (reply, missed, u.lead_prob)
            if not missed:
                break
            problems = missed
        messages = [*messages, {"role": "assistant", "content": text}, repair_message(problems)]
    if best is not None:
        d = _outcome(scene, best[0], best[1], usage, raw)
        doubt = (doubts(scene, instruction, d.plan, best[2])
                 if instruction and d.plan is not None else None)
        return d.model_copy(update={"confidence": best[2], "doubt": doubt})
    question = ("I could not make a plan that fits this scene: "
                f"{problems[0]}. Could you say it another way?")
    return Decomposition(question=question, problems=problems, usage=usage, attempts=2, raw=raw)


def _outcome(scene: SceneDescription, reply: Reply, problems: list[str], usage: Usage,
             raw: list[str]) -> Decomposition:
    question = clarify_question(scene, reply.about) if reply.intent == "clarify" else None
    if question:
        reply = reply.model_copy(update={"text": question})
    return Decomposition(reply=reply, plan=reply.plan if reply.intent == "act" else None,
                         question=question, problems=problems, usage=usage,
                         attempts=len(raw), raw=raw)


def decompose(backend: LLMBackend, scene: SceneDescription, instruction: str) -> Decomposition:
    """Read `instruction` in `scene` as one typed reply: a plan valid in the scene, or a
    question for the person. Names the scene lacks, and a bare "the block" where there are
    several, are asked about before the model is called."""
    if not instruction.strip():
        raise ValueError("the instruction is empty: say what should happen, e.g. "
                         "'push the red block into the green zone, then go home'")
    absent = absent_names(scene, instruction)
    if absent:
        question = _question(absent)
        # "there is no green zone here (...)" -> about "green zone": the name, not the sentence
        said = re.match(r"there (?:is|are) no (.+?)(?: here| in this scene)", absent[0])
        about = (said.group(1) if said else absent[0])[:40]
        return Decomposition(reply=Reply(intent="clarify", about=about, text=question),
                             question=question, problems=absent)
    ambiguous = ambiguous_kinds(scene, instruction)
    if ambiguous:
        question = clarify_question(scene, ambiguous[0])
        return Decomposition(reply=Reply(intent="clarify", about=ambiguous[0], text=question),
                             question=question, problems=[f"'the {k}' could be any of several"
                                                          for k in ambiguous])
    d = _ask(backend, scene, plan_messages(scene, instruction), instruction)
    if d.reply is not None and d.reply.intent == "imagine" and d.reply.plan is not None:
        unsaid = unmentioned_target(scene, instruction, d.reply.plan)
        if unsaid is not None:
            return where_to(unsaid, d.usage, d.raw)
    return d


def revise(backend: LLMBackend, scene: SceneDescription, instruction: str,
           done: list[Subgoal], failed: Subgoal, reason: str) -> Decomposition:
    """A new plan for the work left after `failed` did not succeed for `reason`.

    `scene` should describe the world as it is now; `done` are the subgoals achieved so far.
    """
    return _ask(backend, scene, revise_messages(scene, instruction, done, failed, reason),
                schema=revise_schema(scene))


def revise_schema(scene: SceneDescription) -> dict:
    """A revision is always a plan: the reply `act` only."""
    return {"title": "Reply", "anyOf": [reply_schema(scene)["anyOf"][0]]}
