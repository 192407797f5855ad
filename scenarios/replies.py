"""One typed reply per message: what a person asked for, as the LLM reads it.

The contract (the library's return value, `wmagent decompose --json`, and the `reply` of a
`wmagent run --json` record):

    {"intent": "act|answer|imagine|clarify|cannot|stop",
     "plan": {"subgoals": [{"skill", "object", "relation", "target"}], "avoid": [NAME]} | null,
     "text": "what the agent says to the person",
     "query": {...} | null, "about": str | null, "reason": str | null, "thing": str | null}

`plan` is set for `act` and `imagine` only. `text` is never the LLM's: the agent's tools write it
from the true scene (an answer, a prediction, a question back, why not). Only `act` moves
anything.
"""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from scenarios.subgoals import Plan

Intent = Literal["act", "answer", "imagine", "clarify", "cannot", "stop"]
INTENTS: tuple[str, ...] = ("act", "answer", "imagine", "clarify", "cannot", "stop")
Ask = Literal["where", "nearest", "farthest", "is_in", "distance", "room", "skills", "list"]
ASKS: tuple[str, ...] = ("where", "nearest", "farthest", "is_in", "distance", "room", "skills",
                         "list")
Kind = Literal["block", "pad", "zone", "target"]
Reason = Literal["lift", "stack", "off_table", "paint", "other", "no_room"]
REASONS: tuple[str, ...] = ("lift", "stack", "off_table", "paint", "other")
"""the reasons the LLM may give; `no_room` is found by the scene check, not by the LLM"""
AMBIGUOUS = ("block", "pad", "zone")
"""a clarify `about` that is one of these means "which one?", anything else "not here" """


class Query(BaseModel):
    """A question about the scene or the agent, for a tool to answer from the true state.

    where: where `object` is; nearest / farthest: which thing of `kind` is nearest to or
    farthest from `object`; is_in: whether `object` is in `target`; distance: from `object` to
    `target`; room: which room `object` is in; skills: what the agent can do; list: what is in
    the scene.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    ask: Ask
    object: str | None = None
    kind: Kind | None = None
    target: str | None = None


class Reply(BaseModel):
    """The typed reading of one message."""

    model_config = ConfigDict(extra="forbid")

    intent: Intent
    plan: Plan | None = None
    """what to do (act) or to imagine (imagine); None otherwise"""
    text: str = ""
    """what the agent says; written by the agent's tools, never by the LLM"""
    query: Query | None = None
    """answer: the question, for a tool"""
    about: str | None = Field(None, max_length=40)
    """clarify: the name the scene lacks ("home"), or the kind that is ambiguous ("block")"""
    reason: Reason | None = None
    """cannot: why not"""
    thing: str | None = None
    """cannot: the object concerned, if one is named"""

    @model_validator(mode="after")
    def _fields_fit_the_intent(self) -> Reply:
        if (self.plan is not None) != (self.intent in ("act", "imagine")):
            raise ValueError(f"a plan goes with act and imagine only, not {self.intent}")
        if (self.query is not None) != (self.intent == "answer"):
            raise ValueError("a query goes with answer, and answer needs one")
        if self.intent == "clarify" and not self.about:
            raise ValueError("clarify needs 'about': what is missing or ambiguous")
        if (self.reason is not None) != (self.intent == "cannot"):
            raise ValueError("a reason goes with cannot, and cannot needs one")
        return self

    @property
    def moves(self) -> bool:
        """Whether carrying out this reply moves anything in the world (only `act` does)."""
        return self.intent == "act"

    def contract(self) -> dict:
        """The stable JSON contract (every subgoal with its relation; `plan` null unless act
        or imagine)."""
        return json.loads(self.model_dump_json())


def compact(reply: Reply) -> str:
    """The reply as the embedded model is trained to write it: compact JSON, without `text`,
    without unset fields, without relation "in" (the default) and without an empty avoid."""
    data: dict = {"intent": reply.intent}
    if reply.plan is not None:
        subgoals = []
        for s in reply.plan.subgoals:
            item = {"skill": s.skill, "object": s.object}
            if s.relation != "in":
                item["relation"] = s.relation
            item["target"] = s.target
            subgoals.append(item)
        data["plan"] = {"subgoals": subgoals}
        if reply.plan.avoid:
            data["plan"]["avoid"] = list(reply.plan.avoid)
    if reply.query is not None:
        data["query"] = reply.query.model_dump(exclude_none=True)
    for key in ("about", "reason", "thing"):
        if getattr(reply, key) is not None:
            data[key] = getattr(reply, key)
    return json.dumps(data, separators=(",", ":"))
