"""Subgoals and plans: what the LLM produces and what predicates judge."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Skill = Literal["go", "push"]
Relation = Literal["in", "near", "left_of", "right_of", "north_of", "south_of"]
RELATIONS: tuple[str, ...] = ("in", "near", "left_of", "right_of", "north_of", "south_of")
AGENT = "agent"
RELATION_WORDS = {"in": "into", "near": "near", "left_of": "to the left of",
                  "right_of": "to the right of", "north_of": "above", "south_of": "below"}
"""How `text()` says each relation (the table is seen from above: left is west, up north)."""
_PARSE_RELATION = {"in": "in", "into": "in", "to": "in", "onto": "in", "inside": "in",
                   "near": "near", "next to": "near", "beside": "near", "close to": "near",
                   "left of": "left_of", "to left of": "left_of", "west of": "left_of",
                   "right of": "right_of", "to right of": "right_of", "east of": "right_of",
                   "above": "north_of", "north of": "north_of", "below": "south_of",
                   "south of": "south_of", "left_of": "left_of", "right_of": "right_of",
                   "north_of": "north_of", "south_of": "south_of"}


class Subgoal(BaseModel):
    """One step of a plan: move the agent to a target (`go`) or push a block into one (`push`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    skill: Skill = Field(description="'go': the agent moves to the target; 'push': the agent "
                                     "pushes the object to the target")
    object: str = Field(description="what moves: 'agent' for go, a block name for push")
    relation: Relation = Field("in", description="where the object ends, relative to the "
                               "target: in it (the default), near it (outside, within 15 cm "
                               "of its edge), or left_of / right_of / north_of / south_of it "
                               "(seen from above: left is west)")
    target: str = Field(description="a pad or zone name from the scene, e.g. 'green zone'")

    def text(self) -> str:
        """The subgoal as a short English phrase."""
        if self.skill == "go":
            where = "to" if self.relation == "in" else RELATION_WORDS[self.relation]
            return f"go {where} the {self.target}"
        return f"push the {self.object} {RELATION_WORDS[self.relation]} the {self.target}"

    @classmethod
    def parse(cls, text: str) -> Subgoal:
        """Read a terse subgoal such as 'go to red pad', 'push red block to green zone' or
        'push red block left of blue zone' (also: near, right of, above, below, north of,
        south of, west of, east of)."""
        t = " ".join(text.lower().replace("the ", " ").split())
        words = "|".join(sorted((re.escape(w) for w in _PARSE_RELATION), key=len, reverse=True))
        m = re.fullmatch(rf"go (?:({words}) )?(.+)", t)
        if m:
            return cls(skill="go", object=AGENT, relation=_PARSE_RELATION[m.group(1) or "to"],
                       target=m.group(2))
        m = re.fullmatch(rf"push (.+?) ({words}) (.+)", t)
        if m:
            return cls(skill="push", object=m.group(1), relation=_PARSE_RELATION[m.group(2)],
                       target=m.group(3))
        raise ValueError(
            f"cannot read subgoal {text!r}: write 'go to TARGET' or 'push BLOCK into TARGET' "
            "(or near, left of, right of, above, below TARGET), e.g. 'push red block into "
            "green zone'"
        )


class Plan(BaseModel):
    """An ordered list of subgoals, and what must not be disturbed while doing them."""

    model_config = ConfigDict(extra="forbid")

    subgoals: list[Subgoal] = Field(description="the subgoals in the order they must be done")
    avoid: list[str] = Field(default_factory=list, description="names not to disturb: a block "
                             "here must not move more than 2 cm, a pad or zone here must not "
                             "be entered by the agent")

    def text(self) -> str:
        said = "; ".join(s.text() for s in self.subgoals)
        if self.avoid:
            said += ", without touching the " + " or the ".join(self.avoid)
        return said


def _segments(subgoals: list[Subgoal]) -> list[tuple[str, dict[str, list[str]]]]:
    """`subgoals` cut at each `go`: (the go, {block: its pushes in order}) per segment."""
    out: list[tuple[str, dict[str, list[str]]]] = [("", {})]
    for s in subgoals:
        if s.skill == "go":
            out.append((s.model_dump_json(), {}))
        else:
            out[-1][1].setdefault(s.object, []).append(s.model_dump_json())
    return out


def means_the_same(a: list[Subgoal], b: list[Subgoal]) -> bool:
    """Whether doing `b` does what `a` asks, perhaps in another order: the same `go`s in the
    same order, each block's pushes in the same order, no push moved across a `go`. Pushes of
    different blocks between two `go`s may swap (where each block ends up does not depend on
    which goes first); two pushes of one block may not (the last one says where it ends)."""
    return _segments(a) == _segments(b)


def reorderable(subgoals: list[Subgoal]) -> bool:
    """Whether another order means the same (`means_the_same`): two pushes of different
    blocks between the same two `go`s."""
    return any(len(blocks) > 1 for _, blocks in _segments(subgoals))
