"""Test doubles for the agent graph: a decomposer that replays queued answers."""

from dataclasses import dataclass, field

from scenarios.replies import Reply
from scenarios.subgoals import Plan, Subgoal


@dataclass
class FakeUsage:
    prompt_tokens: int = 100
    completion_tokens: int = 20
    seconds: float = 0.01
    calls: int = 1


@dataclass
class FakeDecomposition:
    plan: Plan | None = None
    question: str | None = None
    problems: list = field(default_factory=list)
    usage: FakeUsage = field(default_factory=FakeUsage)
    typed: Reply | None = None
    asks_first: bool = False  # the model was unsure it was asked to act
    doubt: str = "I am only 60% sure you asked me to act"

    @property
    def reply(self) -> Reply | None:
        if self.typed is not None:
            return self.typed
        if self.question:
            return Reply(intent="clarify", about="it", text=self.question)
        return Reply(intent="act", plan=self.plan) if self.plan is not None else None


class QueuedDecomposer:
    """Replays answers: a list of subgoal lists, strings (questions) or typed replies."""

    name = "queued"

    def __init__(self, answers):
        self.answers = list(answers)
        self.calls = []

    def _next(self):
        a = self.answers.pop(0)
        if isinstance(a, tuple) and a[0] == "unsure":  # ("unsure", subgoals): asks first
            d = self._next_of(a[1])
            d.asks_first = True
            return d
        return self._next_of(a)

    def _next_of(self, a):
        if isinstance(a, Reply):
            return FakeDecomposition(plan=a.plan if a.intent == "act" else None, typed=a)
        if isinstance(a, str):
            return FakeDecomposition(question=a)
        return FakeDecomposition(plan=Plan(subgoals=[Subgoal.model_validate(s) for s in a]))

    def decompose(self, scene, instruction):
        self.calls.append(("decompose", instruction))
        return self._next()

    def revise(self, scene, instruction, done, failed, reason):
        self.calls.append(("revise", reason))
        return self._next()
