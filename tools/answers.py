"""Answers from the true scene: the LLM picks the question and its arguments (a `Query`), these
functions compute the facts. Nothing here moves anything.

Distances are between centres, in centimetres; "in" is the subgoal predicate (the centre inside
the target's disc); a room is the room whose bounds hold the centre.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np

from scenarios.replies import Query, Reply
from scenarios.subgoals import AGENT, Plan, Subgoal
from scenarios.world import World, agent_pos, block_pos
from tools.imagination import ROUND_MISS, going_round, imagine_plan

SKILLS = ("I move a round agent on a table seen from above. I can go to a pad or zone, or next "
          "to, left of, right of, above or below one; and I can push a block into a zone, or "
          "next to, left of, right of, above or below a target, keeping clear of things you "
          "name. I cannot lift, stack, paint or throw things. Ask me where things are, what is "
          "nearest, or what would happen if I did something.")
CANNOT = {
    "lift": "I can only slide things across the table; I cannot lift anything.",
    "stack": "I can only slide blocks across the table; I cannot put one on another.",
    "off_table": "the table has walls all round, so nothing can be pushed off it.",
    "off_open_edge": "a block pushed off the open edge falls to the floor and I cannot bring it "
                     "back, so I will not push anything off the table.",
    "paint": "I cannot change a block's colour.",
    "other": "that is not something I can do here.",
    "no_room": "there is no room for that in this scene.",
}


STOPPED = "Stopped. Nothing moved; tell me what you would like instead."


def position(world: World, state: np.ndarray, name: str) -> np.ndarray:
    """(2,) centre of `name` (the agent, a block or a target) in `state`."""
    layout = world.layout
    if name == AGENT:
        return agent_pos(state)
    if any(b.name == name for b in layout.blocks):
        return block_pos(state, layout.block_index(name))
    return np.asarray(layout.target(name).pos, float)


def _said(name: str) -> str:
    return "I" if name == AGENT else f"the {name}"


def _places(world: World, state: np.ndarray, name: str) -> list[str]:
    """The targets `name` is in now (for the agent and blocks)."""
    if name != AGENT and not any(b.name == name for b in world.layout.blocks):
        return []
    skill = "go" if name == AGENT else "push"
    return [t.name for t in world.layout.targets
            if world.holds(Subgoal(skill=skill, object=name, target=t.name), state)]


def where(world: World, state: np.ndarray, name: str) -> str:
    p = position(world, state, name)
    verb = "am" if name == AGENT else "is"
    text = f"{_said(name).capitalize()} {verb} at ({p[0]:+.2f}, {p[1]:+.2f}) m"
    room = world.layout.room_of(p)
    if room:
        text += f", in the {room}"
    inside = _places(world, state, name)
    if inside:
        text += f", inside the {' and the '.join(inside)}"
    return text + "."


def candidates(world: World, kind: str | None, exclude: str) -> list[str]:
    layout = world.layout
    blocks = [b.name for b in layout.blocks if not b.fragile]  # a glass is not a block
    targets = [t.name for t in layout.targets if kind in (None, "target") or t.kind == kind]
    names = blocks if kind == "block" else targets
    return [n for n in names if n != exclude]


def ranked(world: World, state: np.ndarray, query: Query) -> str:
    ref = query.object or AGENT
    names = candidates(world, query.kind, ref)
    if not names:
        return f"There is no {query.kind or 'target'} here to compare."
    here = position(world, state, ref)
    dist = {n: float(np.linalg.norm(position(world, state, n) - here)) for n in names}
    pick = (min if query.ask == "nearest" else max)(dist, key=dist.get)
    word = "nearest to" if query.ask == "nearest" else "farthest from"
    return (f"The {pick} is the {query.kind or 'target'} {word} "
            f"{'me' if ref == AGENT else 'the ' + ref}: {100 * dist[pick]:.0f} cm away.")


EDGE_NEAR = 0.25
"""metres from an open edge within which a block is said to be near it"""


def edges(world: World, state: np.ndarray) -> str:
    """The table's open edges, if any, and the blocks within EDGE_NEAR of one (or else the
    nearest block to one): what a person must know before asking for a push on a ledge (""
    on a walled table)."""
    open_edges = world.layout.open_edges
    if not open_edges:
        return ""
    half = world.layout.arena_half
    gaps = []
    for b in world.layout.blocks:
        x, y = position(world, state, b.name)
        gap = {"north": half - y, "south": half + y, "east": half - x, "west": half + x}
        e = min(open_edges, key=gap.get)
        gaps.append((max(gap[e], 0.0), b.name, e))
    near = [g for g in sorted(gaps) if g[0] < EDGE_NEAR] or sorted(gaps)[:1]
    said = [f"the {name} is {100 * gap:.0f} cm from the {e} edge" for gap, name, e in near]
    two = len(open_edges) > 1
    return (f" The {' and '.join(open_edges)} edge{'s are' if two else ' is'} open: a block "
            f"pushed past {'one' if two else 'it'} falls off. "
            + "; ".join(said).capitalize() + ".")


def answer(world: World, state: np.ndarray, query: Query) -> str:
    """The answer to `query` in the scene `world` at `state`, in plain words."""
    state = np.asarray(state, float)
    layout = world.layout
    if query.ask == "skills":
        return SKILLS
    if query.ask == "list":
        blocks = [b.name for b in layout.blocks if not b.fragile]
        glasses = [b.name for b in layout.blocks if b.fragile]
        pads = [t.name for t in layout.targets if t.kind == "pad"]
        zones = [t.name for t in layout.targets if t.kind == "zone"]
        parts = [f"{len(v)} {k} ({', '.join(v)})" for k, v in
                 (("blocks", blocks), ("pads", pads), ("zones", zones)) if v]
        parts += [f"a {g} that breaks when struck" for g in glasses]
        rooms = f"; rooms: {', '.join(r.name for r in layout.rooms)}" if layout.rooms else ""
        return "Here there are " + "; ".join(parts) + rooms + "." + edges(world, state)
    name = query.object or AGENT
    if query.ask == "where":
        return where(world, state, name)
    if query.ask in ("nearest", "farthest"):
        return ranked(world, state, query)
    if query.ask == "room":
        room = layout.room_of(position(world, state, name))
        if not layout.rooms:
            return "This scene has no rooms."
        verb = "am" if name == AGENT else "is"
        return (f"{_said(name).capitalize()} {verb} in the {room}." if room else
                f"{_said(name).capitalize()} {verb} in a doorway, between rooms.")
    target = query.target
    if target is None:
        return "Which target do you mean?"
    if query.ask == "is_in":
        inside = target in _places(world, state, name)
        verb = "am" if name == AGENT else "is"
        d = float(np.linalg.norm(position(world, state, name) - position(world, state, target)))
        return (f"Yes: {_said(name)} {verb} in the {target}." if inside else
                f"No: {_said(name)} {verb} {100 * d:.0f} cm from the {target}'s centre.")
    d = float(np.linalg.norm(position(world, state, name) - position(world, state, target)))
    return (f"{_said(name).capitalize()} and the {target} are {100 * d:.0f} cm apart "
            "(centre to centre).")


def cannot(reason: str, thing: str | None, world: World) -> str:
    """Why not, and the nearest thing that can be done."""
    if reason == "off_table" and world.layout.open_edges:
        reason = "off_open_edge"  # a ledge: possible, and exactly what the agent must not do
    why = CANNOT.get(reason, CANNOT["other"])
    zones = [t.name for t in world.layout.targets if t.kind == "zone"]
    fragile = {b.name for b in world.layout.blocks if b.fragile}
    if thing and zones and thing not in fragile:
        offer = f" I could push the {thing} into the {zones[0]}, or next to it, instead."
    elif world.layout.targets:
        offer = f" I could go to the {world.layout.targets[0].name}, for example."
    else:
        offer = ""
    return why[0].upper() + why[1:] + offer


def understood(plan: Plan) -> str:
    """How a plan is said back to the person before anything moves."""
    return "I understood: " + plan.text() + "."


def foresee(world: World, state: np.ndarray, plan: Plan,
            imagine: Callable | None) -> str:
    """A what-if in plain words: the world model's prediction of each subgoal of `plan` in
    turn from `state`, what moves where, and whether the subgoal is reached, up to the first
    predicted failure. It imagines the way the agent would act: keeping clear of what the plan
    says to avoid and, where side effects count, going round every block the plan does not
    push (`tools.imagination.going_round`); then it says what the plan done straight would
    do, which is why the agent goes round. `imagine(world, state, subgoal, avoid)` is an
    `Imaginer.imagine`; nothing moves. Without one the agent says it cannot foresee."""
    if imagine is None:
        return ("I have no world model to imagine with, so I cannot predict that; ask an "
                "agent with one (hybrid).")
    said, avoid = [], tuple(plan.avoid)
    clear = going_round(world.layout, plan.subgoals, avoid)
    if clear:
        said.append(f"I would go round the {_listed(clear)}, which the plan does not move.")
    for i, im in imagine_plan(imagine, world, plan.subgoals, 0, avoid + clear, start=state)[0]:
        sg = plan.subgoals[i]
        if im.predicted_state is None:
            said.append(f"I cannot predict '{sg.text()}': {im.reason or 'no prediction'}.")
            break
        said.append(_foreseen(world, sg, im, np.asarray(im.predicted_state, float),
                              detour=bool(clear)))
    if clear:
        straight = imagine_plan(imagine, world, plan.subgoals, 0, avoid, start=state)[1]
        said.append("Done straight, " + ("; ".join(e.text() for e in straight) if straight
                                         else "I foresee no side effect either") + ".")
    return " ".join(said) + " Nothing moved."


def _listed(names: tuple[str, ...]) -> str:
    """"red block", "red block and the glass", "red block, the green block and the glass"."""
    return names[0] if len(names) == 1 else ", the ".join(names[:-1]) + " and the " + names[-1]


def _foreseen(world: World, sg: Subgoal, im, after: np.ndarray, detour: bool = False) -> str:
    """One imagined subgoal in words: reached or not, where the mover ends, what else the
    imagined path did, and what the latent heads read where the family ships them. A miss
    imagined on a `detour` round other blocks is said to be unsure (`ROUND_MISS`)."""
    mover = "I" if sg.skill == "go" else f"the {sg.object}"
    p = position(world, after, sg.object)
    if im.ok:
        head = f"If I {sg.text()}, I predict it works: after about {im.steps} steps "
    elif detour:
        right, of = ROUND_MISS
        head = (f"If I {sg.text()}, I cannot tell whether it gets there: the model predicts "
                f"not, but going round it was wrong about that {right} times in {of}. After "
                f"{im.steps} imagined steps ")
    else:
        head = f"If I {sg.text()}, I predict it does not work: after {im.steps} steps "
    text = head + f"{mover} {'am' if mover == 'I' else 'is'} at ({p[0]:+.2f}, {p[1]:+.2f})"
    for e in im.effects:  # read off the imagined path (`scenarios.side_effects.foreseen`)
        text += f"; {e.text()}"
    heads = dict(getattr(im, "predicates", None) or {})  # `tools.predicates.judge`
    if detour:  # on a way round, the heads' P(holds) is no evidence either (`ROUND_MISS`)
        heads.pop("holds", None)
    if heads:
        odds = [f"{what} {100 * heads[k]:.0f}%" for k, what in
                (("holds", "it holds"), ("harm", "a side effect")) if k in heads]
        text += " (read from the imagined latent: " + ", ".join(odds) + ")"
        if "holds" in heads and (heads["holds"] >= 0.5) != im.ok:
            text += "; the two readings disagree, so I am not sure"
    return text + "."


_EDGE = re.compile(r"\b(edges?|ledges?|fall(s|ing)?\s+off|drops?\s+off)\b", re.IGNORECASE)
WALLED = "The table has walls all round: nothing can fall off it."


def respond(world: World, state: np.ndarray, reply: Reply,
            imagine: Callable | None = None, message: str = "") -> str:
    """What the agent says to a reply that moves nothing: the answer from the true scene, the
    world model's prediction, why not, or that it stopped. A question whose `message` names an
    edge ("is anything near the edge?") gets the table's edges first: no query kind asks
    about them, and the nearest zone alone is not an answer to it."""
    if reply.intent == "answer":
        assert reply.query is not None
        text = answer(world, state, reply.query)
        if reply.query.ask != "list" and _EDGE.search(message):
            text = f"{edges(world, state).strip() or WALLED} {text}"
        return text
    if reply.intent == "imagine":
        assert reply.plan is not None
        return foresee(world, state, reply.plan, imagine)
    if reply.intent == "cannot":
        return cannot(reply.reason or "other", reply.thing, world)
    if reply.intent == "stop":
        return STOPPED
    if reply.intent == "clarify":
        return reply.text
    raise ValueError(f"a reply of intent {reply.intent!r} moves things: act on it instead")
