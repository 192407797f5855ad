"""Seeded messages of every intent, with the typed reply each one means.

Beside the instructions of `scenarios.instructions` (intent `act`), this writes relation
subgoals ("to the left of"), things to avoid ("without touching the purple block"), questions,
what-ifs, names the scene lacks, ambiguous names, impossible requests and "stop". As there,
every phrasing (template, verb, sentence shape) belongs to one split, so that the `test` split
measures wording never seen in training; names are shared.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from pydantic import BaseModel, ConfigDict

from scenarios.instructions import GO, GO_HOME, PUSH, Split, _sentence, _target_ref, make_task
from scenarios.layout import Layout
from scenarios.registry import get
from scenarios.relations import feasible
from scenarios.replies import Query, Reply
from scenarios.subgoals import AGENT, Plan, Subgoal
from scenarios.world import World

REL = {
    "near": {"train": ["near {t}", "next to {t}", "close to {t}", "beside {t}",
                       "somewhere near {t}", "near to {t}", "just next to {t}", "by {t}",
                       "a short way from {t}", "hugging {t}", "close by {t}", "not far from {t}",
                       "at the edge of {t}", "near the edge of {t}", "up close to {t}",
                       "around {t}", "just outside {t}", "in the neighbourhood of {t}",
                       "a few centimetres from {t}", "nearby {t}",
                       "right next to {t}", "right beside {t}", "adjacent to {t}",
                       "up against {t}", "in close proximity to {t}", "just beside {t}",
                       "at the side of {t}", "a stone's throw from {t}"],
             "test": ["right by {t}", "in the vicinity of {t}", "alongside {t}"]},
    "left_of": {"train": ["to the left of {t}", "left of {t}", "west of {t}",
                          "on the west side of {t}", "a bit to the left of {t}",
                          "on the left of {t}", "off to the left of {t}", "westward of {t}",
                          "to the left side of {t}", "leftward of {t}",
                          "on the western side of {t}",
                          "a little west of {t}", "directly left of {t}",
                          "past the west edge of {t}",
                          "immediately to the left of {t}", "slightly left of {t}",
                          "on the west of {t}", "at the left of {t}", "west side of {t}"],
                "test": ["just left of {t}", "on the left-hand side of {t}",
                         "to the west of {t}"]},
    "right_of": {"train": ["to the right of {t}", "right of {t}", "east of {t}",
                           "on the east side of {t}", "a bit to the right of {t}",
                           "on the right of {t}", "off to the right of {t}", "eastward of {t}",
                           "to the right side of {t}", "rightward of {t}",
                           "on the eastern side of {t}", "a little east of {t}",
                           "directly right of {t}", "past the east edge of {t}",
                           "immediately to the right of {t}", "slightly right of {t}",
                           "on the east of {t}", "at the right of {t}", "east side of {t}"],
                 "test": ["just right of {t}", "on the right-hand side of {t}",
                          "to the east of {t}"]},
    "north_of": {"train": ["above {t}", "north of {t}", "on the north side of {t}",
                           "just above {t}",
                           "over {t}", "north side of {t}", "a little above {t}",
                           "northward of {t}", "on the northern side of {t}",
                           "directly above {t}", "past the north edge of {t}", "up from {t}",
                           "slightly above {t}", "a little north of {t}",
                           "on the upper side of {t}", "higher up than {t}",
                           "beyond the top of {t}"],
                 "test": ["to the north of {t}", "up past {t}", "on top side of {t}"]},
    "south_of": {"train": ["below {t}", "south of {t}", "on the south side of {t}",
                           "just below {t}", "under {t}", "south side of {t}",
                           "a little below {t}", "southward of {t}",
                           "on the southern side of {t}", "directly below {t}",
                           "past the south edge of {t}", "down from {t}", "slightly below {t}",
                           "a little south of {t}", "on the lower side of {t}",
                           "lower down than {t}",
                           "beyond the bottom of {t}", "beneath {t}"],
                 "test": ["to the south of {t}", "down past {t}", "underneath {t}"]},
}
PUSH_REL = {"train": ["push {o} {r}", "move {o} {r}", "slide {o} {r}", "shove {o} {r}",
                      "put {o} {r}", "nudge {o} {r}", "place {o} {r}", "get {o} {r}",
                      "drive {o} {r}", "bump {o} {r}", "steer {o} {r}", "take {o} {r}",
                      "carry {o} {r}", "guide {o} {r}", "transport {o} {r}", "drag {o} {r}",
                      "haul {o} {r}", "tow {o} {r}", "relocate {o} {r}", "kick {o} {r}",
                      "herd {o} {r}", "get {o} over {r}", "leave {o} {r}", "park {o} {r}",
                      "position {o} {r}", "set {o} down {r}", "walk {o} over {r}"],
            "test": ["bring {o} {r}", "roll {o} {r}", "send {o} {r}", "deliver {o} {r}"]}
GO_REL = {"train": ["go {r}", "move {r}", "drive {r}", "park {r}", "head {r}", "wait {r}",
                    "position yourself {r}", "end up {r}", "settle {r}", "get {r}",
                    "walk {r}", "steer {r}", "roll {r} and wait", "finish {r}",
                    "halt {r}", "pause {r}", "come to a halt {r}", "stay {r}",
                    "head over {r}", "go over {r}", "hurry {r}", "wander {r}", "relocate {r}",
                    "sit {r}", "stand {r}", "pull up {r}", "find your way {r}", "proceed {r}",
                    "cruise {r}", "navigate {r}", "dash {r}", "land {r}", "come {r}",
                    "get yourself {r}", "be {r}", "end your route {r}", "rest {r} for a while"],
          "test": ["make your way {r}", "travel {r}", "stop {r}", "come to rest {r}"]}
AVOID_BLOCK = {"train": ["without touching {o}", "but don't touch {o}", "and leave {o} alone",
                         "but avoid {o}", "and don't move {o}", "keeping away from {o}",
                         "without bumping into {o}", "and don't push {o}", "while avoiding {o}",
                         "and keep away from {o}", "not touching {o}",
                         "taking care not to hit {o}", "without knocking {o}",
                         "but {o} must stay put", "and make sure {o} does not move",
                         "and keep your hands off {o}", "but do not bump {o}",
                         "without nudging {o}", "giving {o} a wide berth",
                         "and don't go near {o}", "and don't knock into {o}",
                         "sparing {o}", "and steer round {o}",
                         "without moving {o} at all",
                         "and go around {o}",
                         "but {o} is off limits", "careful not to move {o}",
                         "and leave {o} be", "but {o} must not move",
                         "and don't displace {o}", "keeping your distance from {o}",
                         "and let {o} stay where it stands"],
               "test": ["while steering clear of {o}", "and do not disturb {o}",
                        "but leave {o} where it is"]}
AVOID_PLACE = {"train": ["without entering {t}", "but stay out of {t}",
                         "and don't drive through {t}", "avoiding {t}", "but keep out of {t}",
                         "while staying off {t}", "without passing through {t}",
                         "steering around {t}", "not going through {t}",
                         "and don't enter {t}", "but never go into {t}",
                         "while keeping away from {t}", "and do not step on {t}",
                         "skirting around {t}", "and stay off {t}", "but avoid {t}",
                         "but never touch {t}", "going around {t}", "not driving over {t}",
                         "but do not pass over {t}", "and never enter {t}",
                         "while avoiding {t}", "but keep away from {t}",
                         "never setting foot on {t}",
                         "but don't go over {t}", "without rolling over {t}",
                         "while not touching {t}",
                         "and stay clear of {t}", "never once entering {t}",
                         "but make sure you never enter {t}", "but {t} is off limits",
                         "treating {t} as out of bounds", "and avoid driving on {t}",
                         "without setting a wheel in {t}", "but {t} is forbidden"],
               "test": ["while keeping off {t}", "but never cross {t}"]}
AVOID_FIRST = {"train": ["Without touching {o}, ", "Don't touch {o}, but ", "Leave {o} alone and ",
                         "Mind {o}: ", "Avoid {o} and ", "Keeping away from {o}, ",
                         "Be careful around {o}: ", "Whatever you do, don't touch {o}; ",
                         "Mind you don't move {o}: "],
               "test": ["Careful with {o}: ", "Keep clear of {o} and "]}
QUESTIONS = {
    "where": {"train": ["where is {o}?", "where's {o}?", "can you tell me where {o} is?",
                        "tell me where {o} is", "what is the position of {o}?",
                        "where did {o} end up?", "what are the coordinates of {o}?"],
              "test": ["whereabouts is {o}?", "could you locate {o} for me?",
                       "in which spot is {o}?"]},
    "nearest": {"train": ["which {k} is closest to {o}?", "which {k} is nearest to {o}?",
                          "what is the closest {k} to {o}?", "tell me which {k} is nearest {o}",
                          "find the {k} nearest to {o}", "which {k} is the closest one to {o}?",
                          "which {k} is the least far from {o}?",
                          "what {k} is at the smallest distance from {o}?",
                          "which {k} is closer to {o} than any other?"],
                "test": ["which {k} sits nearest to {o}?", "name the {k} that is closest to {o}",
                         "which {k} is the shortest distance from {o}?"]},
    "farthest": {"train": ["which {k} is farthest from {o}?", "which {k} is furthest from {o}?",
                           "what is the most distant {k} from {o}?",
                           "what is the farthest {k} from {o}?",
                           "which {k} is at the greatest distance from {o}?"],
                 "test": ["name the {k} that is farthest away from {o}",
                          "which {k} lies furthest away from {o}?"]},
    "is_in": {"train": ["is {o} in {t}?", "is {o} inside {t}?", "has {o} reached {t}?",
                        "is {o} already in {t}?",
                        "is {o} in {t} yet?", "did {o} make it into {t}?"],
              "test": ["does {t} contain {o}?", "is {o} sitting in {t} right now?"]},
    "distance": {"train": ["how far is {o} from {t}?", "what's the distance between {o} and {t}?",
                           "how far apart are {o} and {t}?",
                           "how far is it from {o} to {t}?",
                           "what is the distance from {o} to {t}?"],
                 "test": ["how many centimetres separate {o} and {t}?",
                          "what distance lies between {o} and {t}?"]},
    "room": {"train": ["which room is {o} in?", "what room is {o} in?", "in which room is {o}?"],
             "test": ["tell me the room {o} is located in", "which room holds {o}?"]},
    "skills": {"train": ["what can you do?", "what are your skills?", "help", "hi", "hello",
                         "what are you able to do?", "thanks",
                         "hey", "thank you", "who are you?", "how can you help?",
                         "what sort of tasks can you handle?", "tell me what you can do",
                         "which tasks can you do?", "what things can you do?",
                         "what can you help me with?", "what are your abilities?",
                         "what can I ask you to do?", "list your skills", "good evening",
                         "hi, who am I talking to?", "ok thanks, that's everything"],
               "test": ["what kinds of things can you do for me?", "hey there",
                        "good morning", "what are you capable of?", "cheers, that's all"]},
    "list": {"train": ["what do you see?", "what is on the table?", "list the objects",
                       "describe the scene",
                       "what is in the scene?", "name everything you see", "show me the scene",
                       "what can you see?", "what things are on the table?",
                       "tell me what's on the table", "what items are there?",
                       "what's in front of you?", "describe what you see",
                       "what's nearby?", "survey the scene for me", "what is here?"],
             "test": ["what's around you?", "give me an overview of the scene",
                      "what objects are here?"]},
}
ASK_FIRST = {"train": ["Don't move anything, just tell me: ", "Without moving, ", "Just answer: ",
                       "Quick question: ", "Don't do anything, just tell me: ",
                       "No action needed - ", "Leave everything where it is and tell me: ",
                       "I only want to know: "],
             "test": ["Don't touch anything, just tell me ", "No moving please - ",
                      "Only a question: "]}
SELF = {"train": ["you", "the agent"], "test": ["yourself", "you right now"]}
IMAGINE = {"train": ["what happens if you {c}?", "what would happen if you {c}?",
                     "imagine you {c}: what happens?", "predict what happens if you {c}",
                     "if you {c}, will it work?", "/imagine {c}", "what will happen if you {c}?",
                     "tell me what would happen if you {c}", "would it work if you {c}?",
                     "if I asked you to {c}, what would happen?", "simulate this: {c}",
                     "think ahead: what happens if you {c}?", "imagine: {c}",
                     "can you predict the result if you {c}?",
                     "let's say you {c}: what happens next?",
                     "assume you {c}. What would the outcome be?",
                     "envision trying to {c} - would it succeed?",
                     "hypothetically, if you {c}, what happens?",
                     "try to imagine what happens when you {c}",
                     "say you were to {c}; how would that turn out?",
                     "before doing anything: what would happen if you {c}?"],
           "test": ["suppose you {c} - what then?", "what if you {c}?", "would it work to {c}?",
                    "picture yourself trying to {c}: how does it go?"]}
UNKNOWN = {"train": ["corner", "door", "window", "shelf", "basket", "exit", "fridge", "bed",
                     "car", "office", "bathroom", "stairs", "mailbox", "tree", "lamp", "chair",
                     "desk", "garden", "bin", "hallway", "balcony", "crate", "charger", "dock",
                     "parking spot", "bucket", "gate", "closet", "library", "station",
                     "printer", "cupboard", "porch", "attic", "boat", "truck", "shop",
                     "playground", "cellar", "pantry", "carpet", "vase", "plant pot", "shed",
                     "fence", "pillar", "terminal", "platform", "tunnel", "toolbox"],
           "test": ["kitchen", "garage", "sofa", "ramp"]}
WHICH = {"train": {"block": ["push the block into {t}", "move the block to {t}",
                             "get the block into {t}"],
                   "pad": ["go to the pad", "head to the pad", "drive to the pad"],
                   "zone": ["push {o} into the zone", "put {o} in the zone"]},
         "test": {"block": ["bring the block to {t}", "roll the block over to {t}"],
                  "pad": ["visit the pad", "travel to the pad"],
                  "zone": ["deliver {o} to the zone", "send {o} over to the zone"]}}
GO_ELSEWHERE = {"train": ["wait at {t}", "halt at {t}", "pause at {t}", "swing by {t}",
                         "pop over to {t}", "come to {t}", "run over to {t}", "stay at {t}"],
                "test": []}
"""more ways of going somewhere, said of names the scene lacks (train only)"""
CANNOT = {"lift": {"train": ["lift {o}", "pick up {o}", "raise {o} off the table",
                             "carry {o} in the air", "pick {o} up", "hold {o} above the table",
                             "lift {o} up high",
                             "lift {o} into the air", "carry {o} above your head",
                             "pick {o} up and hold it", "grasp {o} and lift it",
                             "take hold of {o} and raise it"],
                   "test": ["hoist {o} up", "grab {o} and hold it up high"]},
          "stack": {"train": ["stack {o} on {o2}", "put {o} on top of {o2}",
                              "place {o} on {o2}", "stack {o} onto {o2}"],
                    "test": ["pile {o} onto {o2}", "balance {o} upon {o2}"]},
          "off_table": {"train": ["push {o} off the table", "knock {o} onto the floor",
                                  "throw {o} off the table", "push {o} off the edge",
                                  "make {o} fall off the table", "throw {o} on the ground",
                                  "put {o} on the floor", "place {o} on the ground",
                                  "let {o} fall to the floor", "tip {o} over the edge",
                                  "send {o} off the table", "roll {o} off the side",
                                  "get {o} onto the floor"],
                        "test": ["shove {o} over the edge of the table", "drop {o} on the floor"]},
          "paint": {"train": ["paint {o} blue", "make {o} green", "colour {o} yellow"],
                    "test": ["change the colour of {o} to red", "repaint {o} white"]},
          "other": {"train": ["jump over the wall", "fly to the ceiling", "turn the light off",
                              "sing a song", "fetch me a drink", "climb the wall",
                              "break through the wall", "play some music", "write me a poem",
                              "call my mother", "cook dinner", "go outside",
                              "order a pizza", "clean the floor with a mop", "open the window",
                              "wash the dishes", "read me the news", "take a photo",
                              "bake a cake", "do a backflip", "walk the dog", "tell me a story",
                              "water the plants", "turn on the TV", "book a taxi",
                              "recite a poem", "make the bed", "feed the cat", "sing me a song",
                              "recommend a movie", "tell me about the weather",
                              "draw me a picture", "translate this into French"],
                    "test": ["make me a coffee", "dance for me", "tell me a joke"]}}
STOP = {"train": ["stop", "stop!", "wait", "hold on", "don't move", "never mind", "cancel that",
                  "forget it", "halt", "freeze", "do nothing", "stop that", "abort", "no, don't",
                  "don't do anything", "pause", "wait a moment", "leave everything as it is",
                  "don't do it", "actually, never mind", "stop right there", "hold it",
                  "quit", "no thanks"],
        "test": ["please stand still", "let's not do that", "scrap that", "hang on a second",
                 "nothing, thanks", "stay put"]}
MIX = (("act", 0.14), ("relation", 0.14), ("avoid", 0.14), ("answer", 0.16), ("imagine", 0.12),
       ("clarify", 0.14), ("cannot", 0.1), ("stop", 0.1))
"""what share of the messages of `generate` has each kind"""


class Request(BaseModel):
    """A message for one seeded scene, the reply it means, and which kind of message it is."""

    model_config = ConfigDict(frozen=True)

    scenario: str
    seed: int
    text: str
    reply: Reply
    kind: str
    split: Split


def _pick(rng: np.random.Generator, options):
    return options[int(rng.integers(len(options)))]


def _cap(text: str) -> str:
    return text[0].upper() + text[1:]


def _relation_clause(layout: Layout, s: Subgoal, rng, split: Split) -> str:
    where = _pick(rng, REL[s.relation][split]).format(t=_target_ref(layout, s.target, rng, split))
    if s.skill == "go":
        return _pick(rng, GO_REL[split]).format(r=where)
    return _pick(rng, PUSH_REL[split]).format(o=f"the {s.object}", r=where)


def _plain_clause(layout: Layout, s: Subgoal, rng, split: Split) -> str:
    if s.skill == "go":
        if s.target == "home pad" and rng.random() < 0.5:
            return _pick(rng, GO_HOME[split])
        return _pick(rng, GO[split]).format(t=_target_ref(layout, s.target, rng, split))
    return _pick(rng, PUSH[split]).format(o=f"the {s.object}", t=f"the {s.target}")


def _relation_subgoal(world: World, rng) -> Subgoal | None:
    layout = world.layout
    for _ in range(40):
        relation = _pick(rng, ("near", "left_of", "right_of", "north_of", "south_of"))
        target = _pick(rng, [t.name for t in layout.targets])
        if layout.pushable and rng.random() < 0.6:
            s = Subgoal(skill="push", object=_pick(rng, [b.name for b in layout.pushable]),
                        relation=relation, target=target)
        else:
            s = Subgoal(skill="go", object=AGENT, relation=relation, target=target)
        if feasible(layout, relation, target, s.object) and not world.holds(s):
            return s
    return None


def _act(world: World, rng, split: Split, kind: str) -> tuple[str, Reply] | None:
    layout = world.layout
    if kind == "act":
        task = make_task(layout.scenario, layout.seed, int(rng.integers(1, 4)), split, rng)
        if task is None:
            return None
        return task.instruction, Reply(intent="act", plan=Plan(subgoals=task.subgoals))
    rel = _relation_subgoal(world, rng)
    if rel is None:
        return None
    subgoals, clauses = [rel], [_relation_clause(layout, rel, rng, split)]
    if rng.random() < 0.35:
        other = world.random_subgoal(rng)
        if other.object != rel.object or other.skill == "go" and rel.skill == "push":
            pair = [(rel, clauses[0]), (other, _plain_clause(layout, other, rng, split))]
            if rng.random() < 0.5:
                pair.reverse()
            subgoals, clauses = [p[0] for p in pair], [p[1] for p in pair]
    text = _sentence(clauses, rng, split)
    return text, Reply(intent="act", plan=Plan(subgoals=subgoals))


def _avoid(world: World, rng, split: Split) -> tuple[str, Reply] | None:
    layout = world.layout
    base = _act(world, rng, split, "relation" if rng.random() < 0.4 else "act")
    if base is None:
        return None
    text, reply = base
    named = {n for s in reply.plan.subgoals for n in (s.object, s.target)}
    blocks = [b.name for b in layout.blocks if b.name not in named]
    places = [t.name for t in layout.targets if t.name not in named]
    if blocks and (rng.random() < 0.7 or not places):
        avoid = _pick(rng, blocks)
        if rng.random() < 0.3:
            first = _pick(rng, AVOID_FIRST[split]).format(o=f"the {avoid}")
            text = first + text[0].lower() + text[1:]
        else:
            text = text.rstrip(".") + " " + _pick(rng, AVOID_BLOCK[split]).format(
                o=f"the {avoid}") + "."
    elif places and all(s.skill == "go" for s in reply.plan.subgoals):
        avoid = _pick(rng, places)
        text = text.rstrip(".") + " " + _pick(rng, AVOID_PLACE[split]).format(
            t=f"the {avoid}") + "."
    else:
        return None
    plan = Plan(subgoals=reply.plan.subgoals, avoid=[avoid])
    return text, Reply(intent="act", plan=plan)


def _answer(world: World, rng, split: Split) -> tuple[str, Reply] | None:
    layout = world.layout
    blocks = [b.name for b in layout.blocks]
    targets = [t.name for t in layout.targets]
    asks = ["where", "nearest", "farthest", "is_in", "distance", "skills", "list"]
    if layout.rooms:
        asks.append("room")
    ask = _pick(rng, asks)
    template = _pick(rng, QUESTIONS[ask][split])
    me = _pick(rng, SELF[split])
    if ask in ("skills", "list"):
        return _cap(template), Reply(intent="answer", query=Query(ask=ask))
    things = blocks + [AGENT] if blocks else [AGENT]
    obj = _pick(rng, things)
    said = me if obj == AGENT else f"the {obj}"
    if ask in ("where", "room"):
        if ask == "where" and rng.random() < 0.3:
            obj = _pick(rng, targets)
            said = f"the {obj}"
        query = Query(ask=ask, object=obj)
        text = template.format(o=said)
    elif ask in ("nearest", "farthest"):
        kinds = ["zone", "pad"] + (["block"] if len(blocks) > 1 or obj == AGENT and blocks else [])
        kinds = [k for k in kinds if any(t.kind == k for t in layout.targets) or k == "block"]
        k = _pick(rng, kinds)
        query = Query(ask=ask, object=obj, kind=k)
        text = template.format(o=said, k=k)
    else:
        if ask == "is_in" and obj == AGENT:
            said = me
        t = _pick(rng, targets if ask == "distance" or obj == AGENT
                  else [t.name for t in layout.targets if t.kind == "zone"] or targets)
        query = Query(ask=ask, object=obj, target=t)
        text = template.format(o=said, t=f"the {t}")
    if rng.random() < 0.25:
        text = _pick(rng, ASK_FIRST[split]) + text
    return _cap(text), Reply(intent="answer", query=query)


def _imagine(world: World, rng, split: Split) -> tuple[str, Reply] | None:
    layout = world.layout
    s = _relation_subgoal(world, rng) if rng.random() < 0.3 else world.random_subgoal(rng)
    if s is None:
        return None
    clause = (_relation_clause if s.relation != "in" else _plain_clause)(layout, s, rng, split)
    text = _pick(rng, IMAGINE[split]).format(c=clause)
    return _cap(text), Reply(intent="imagine", plan=Plan(subgoals=[s]))


def _clarify(world: World, rng, split: Split) -> tuple[str, Reply] | None:
    layout = world.layout
    has_home = any(t.name == "home pad" for t in layout.targets)
    r = rng.random()
    if r < 0.35 and not has_home:
        text = _pick(rng, GO_HOME[split])
        if rng.random() < 0.6:
            other = world.random_subgoal(rng)
            text = _sentence([_plain_clause(layout, other, rng, split), text], rng, split)
        return _cap(text), Reply(intent="clarify", about="home")
    if r < 0.7:
        options = []
        if len(layout.pushable) > 1:
            options.append("block")
        if sum(t.kind == "pad" for t in layout.targets) > 1:
            options.append("pad")
        if layout.pushable and sum(t.kind == "zone" for t in layout.targets) > 1:
            options.append("zone")
        if options:
            about = _pick(rng, options)
            zones = [t.name for t in layout.targets if t.kind == "zone"]
            text = _pick(rng, WHICH[split][about]).format(
                t=f"the {_pick(rng, zones)}" if zones else "",
                o=f"the {_pick(rng, [b.name for b in layout.pushable])}" if layout.pushable
                else "")
            return _cap(text), Reply(intent="clarify", about=about)
    noun = _pick(rng, UNKNOWN[split])
    if layout.pushable and rng.random() < 0.4:
        template = _pick(rng, PUSH[split])  # picked before the block: the seeded order
        block = _pick(rng, [b.name for b in layout.pushable])
        verb = template.format(o=f"the {block}", t=f"the {noun}")
    else:
        verb = _pick(rng, GO[split] + GO_ELSEWHERE[split]).format(t=f"the {noun}")
    return _cap(verb), Reply(intent="clarify", about=noun)


def _cannot(world: World, rng, split: Split) -> tuple[str, Reply] | None:
    blocks = [b.name for b in world.layout.blocks]
    reasons = ["lift", "off_table", "paint", "other"] if blocks else ["other"]
    if len(blocks) > 1:
        reasons.append("stack")
    reason = _pick(rng, reasons)
    thing = None
    if reason != "other":
        thing = _pick(rng, blocks)
    o2 = _pick(rng, [b for b in blocks if b != thing]) if reason == "stack" else None
    text = _pick(rng, CANNOT[reason][split]).format(o=f"the {thing}", o2=f"the {o2}")
    return _cap(text), Reply(intent="cannot", reason=reason, thing=thing)


def _stop(world: World, rng, split: Split) -> tuple[str, Reply] | None:
    return _cap(_pick(rng, STOP[split])), Reply(intent="stop")


def make_request(scenario: str, seed: int, kind: str, split: Split,
                 rng: np.random.Generator) -> Request | None:
    """One message of `kind` (a name in MIX) for scene `seed`, or None if none fits."""
    world = World(get(scenario).layout(seed))
    if kind in ("act", "relation"):
        made = _act(world, rng, split, kind)
    else:
        made = {"avoid": _avoid, "answer": _answer, "imagine": _imagine, "clarify": _clarify,
                "cannot": _cannot, "stop": _stop}[kind](world, rng, split)
    if made is None:
        return None
    text, reply = made
    return Request(scenario=scenario, seed=seed, text=text, reply=reply, kind=kind, split=split)


def generate(scenario: str, n: int, split: Split = "train", seed: int = 0) -> Iterator[Request]:
    """`n` messages on scene seeds seed, seed+1, ..., their kinds drawn with the shares of
    MIX. The same arguments always give the same messages."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
    rng = np.random.default_rng([seed, 13 if split == "train" else 17])
    kinds, shares = zip(*MIX, strict=True)
    made, scene_seed = 0, seed
    while made < n:
        kind = kinds[int(rng.choice(len(kinds), p=np.asarray(shares) / sum(shares)))]
        req = make_request(scenario, scene_seed, kind, split, rng)
        scene_seed += 1
        if req is not None:
            made += 1
            yield req
