"""What a run tells its listeners as it goes: one frozen dataclass per kind of event.

Nodes emit them on LangGraph's custom stream; `Agent.run(on_event=...)` passes each one on.
Every event has a `kind` (its name in logs) and plain-data fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar


@dataclass(frozen=True)
class Perceived:
    """The run looked at the scene."""

    kind: ClassVar[str] = "perceived"
    scene: str


@dataclass(frozen=True)
class Question:
    """The agent asks the person before planning."""

    kind: ClassVar[str] = "question"
    question: str


@dataclass(frozen=True)
class Replied:
    """What the agent says to the message: how it understood a plan (`act`, before anything
    moves), or its answer to a message that moves nothing (answer, imagine, cannot, stop)."""

    kind: ClassVar[str] = "replied"
    intent: str
    text: str


@dataclass(frozen=True)
class PlanMade:
    """A plan to act on: the first one, or a revision (`revised`) with its `reason`."""

    kind: ClassVar[str] = "plan"
    plan: list[dict]
    problems: list[str] = field(default_factory=list)
    revised: bool = False
    reason: str = ""
    unchanged: bool = False
    """a revision after a veto that kept the plan as it was: it is acted on as it stands"""


@dataclass(frozen=True)
class Imagined:
    """The world model's verdict on subgoal `index` of the plan, before acting."""

    kind: ClassVar[str] = "imagined"
    index: int
    subgoal: dict
    revision: int
    ok: bool
    reason: str
    predicted_state: list[float] | None
    steps: int
    trusted: bool = True
    """whether a predicted miss may send the plan back to the LLM; False for a way that goes
    round blocks the plan does not name, where a predicted miss is no evidence
    (`tools.imagination.ROUND_MISS`)"""


@dataclass(frozen=True)
class Foresaw:
    """What the world model predicted the plan would do beside its subgoals, and the way the
    agent took: keeping clear of `kept_clear`; `safe`: that way is predicted to do nothing
    else."""

    kind: ClassVar[str] = "foresaw"
    effects: list[str]
    """the side effects predicted for the plan done straight, in words (`rerouted`); in a
    record written before `chosen` existed, those of the way taken"""
    kept_clear: list[str]
    safe: bool
    rerouted: bool = True
    """the plan was imagined straight, as written, and rejected for the way round
    `kept_clear`; False: only the way taken was imagined"""
    chosen: list[str] = field(default_factory=list)
    """the side effects predicted for the way taken, in words"""

    def text(self) -> str:
        """In words, as the chat prints it and the episode video shows it."""
        taken = "; ".join(self.chosen or ([] if self.rerouted else self.effects))
        if not self.kept_clear:
            return f"predicted side effect: {taken}"
        way = "going round the " + ", the ".join(self.kept_clear)
        if not self.rerouted:
            return f"{way}, still foreseen: {taken}"
        straight = "; ".join(self.effects) or "no side effect foreseen"
        verdict = "predicted safe" if self.safe else f"still foreseen: {taken}"
        return f"done straight, {straight}; {way} instead ({verdict})"


@dataclass(frozen=True)
class Chose:
    """The world model, as critic, imagined `considered` candidate plans that all mean what
    the person asked (`agent.understand.candidates`) and chose `chosen`; `why` in words."""

    kind: ClassVar[str] = "chose"
    considered: int
    chosen: int
    plan: list[dict]
    why: str

    def text(self) -> str:
        if self.chosen == 0:
            return f"of {self.considered} orders of the plan, the LLM's own is best: {self.why}"
        return (f"of {self.considered} orders of the plan, number {self.chosen + 1} is "
                f"better: {self.why}")


@dataclass(frozen=True)
class SubgoalStarted:
    kind: ClassVar[str] = "subgoal_started"
    index: int
    subgoal: dict
    attempt: int


@dataclass(frozen=True)
class MpcStep:
    """One control decision: `step` counts control steps in the episode so far."""

    kind: ClassVar[str] = "mpc_step"
    step: int
    index: int
    energy: float | None
    decision_ms: float | None


@dataclass(frozen=True)
class SubgoalDone:
    """One attempt at a subgoal ended, judged by its predicate on the true state."""

    kind: ClassVar[str] = "subgoal_done"
    index: int
    subgoal: dict
    success: bool
    steps: int
    seconds: float = 0.0
    attempt: int = 1
    reason: str = ""
    decision_ms_median: float | None = None


@dataclass(frozen=True)
class Revision:
    """The plan goes back to the LLM because `failed` failed (or was vetoed) for `reason`."""

    kind: ClassVar[str] = "revision"
    reason: str
    failed: dict


@dataclass(frozen=True)
class Report:
    """The end: the verdict, and each judged subgoal's predicate on the true state."""

    kind: ClassVar[str] = "report"
    status: str
    success: bool
    holds: list[dict] = field(default_factory=list)
    disturbed: list[str] = field(default_factory=list)
    side_effects: list[str] = field(default_factory=list)
    """what the run did beyond its subgoals, in words (`scenarios.side_effects`)"""


Event = (Perceived | Question | Replied | PlanMade | Imagined | Foresaw | Chose | SubgoalStarted
         | MpcStep | SubgoalDone | Revision | Report)
