"""Subgoals and plans: what the LLM produces and what predicates judge."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Skill = Literal["go", "push"]
AGENT = "agent"


class Subgoal(BaseModel):
    """One step of a plan: move the agent to a target (`go`) or push a block into one (`push`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    skill: Skill = Field(description="'go': the agent moves to the target; 'push': the agent "
                                     "pushes the object into the target")
    object: str = Field(description="what moves: 'agent' for go, a block name for push")
    target: str = Field(description="a pad or zone name from the scene, e.g. 'green zone'")

    def text(self) -> str:
        """The subgoal as a short English phrase."""
        if self.skill == "go":
            return f"go to the {self.target}"
        return f"push the {self.object} into the {self.target}"

    @classmethod
    def parse(cls, text: str) -> Subgoal:
        """Read a terse subgoal such as 'go to red pad' or 'push red block to green zone'."""
        t = " ".join(text.lower().replace("the ", " ").split())
        m = re.fullmatch(r"go (?:to )?(.+)", t)
        if m:
            return cls(skill="go", object=AGENT, target=m.group(1))
        m = re.fullmatch(r"push (.+?) (?:in|into|to|onto) (.+)", t)
        if m:
            return cls(skill="push", object=m.group(1), target=m.group(2))
        raise ValueError(
            f"cannot read subgoal {text!r}: write 'go to TARGET' or 'push BLOCK into TARGET', "
            "e.g. 'push red block into green zone'"
        )


class Plan(BaseModel):
    """An ordered list of subgoals: the LLM's answer to an instruction."""

    model_config = ConfigDict(extra="forbid")

    subgoals: list[Subgoal] = Field(description="the subgoals in the order they must be done")

    def text(self) -> str:
        return "; ".join(s.text() for s in self.subgoals)
