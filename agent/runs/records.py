"""What an episode leaves behind: the record an evaluation or a person reads afterwards."""

from __future__ import annotations

from pydantic import BaseModel, Field

from scenarios.subgoals import Subgoal


class SubgoalOutcome(BaseModel):
    """How one attempt at one subgoal went, judged by its predicate on the true state."""

    subgoal: Subgoal
    success: bool
    steps: int
    seconds: float
    attempt: int = 1
    reason: str = ""
    decision_ms_median: float | None = None


class EpisodeRecord(BaseModel):
    """One episode of one agent: plan, outcomes, cost, and the verdict of the predicates."""

    agent: str
    scenario: str
    seed: int
    instruction: str
    thread_id: str
    status: str = Field(description="done | failed | needs_clarification | interrupted | "
                                    "answered (a question or what-if) | declined (cannot) | "
                                    "stopped")
    reason: str = ""
    question: str | None = None
    reply: dict | None = Field(
        None, description="the typed reading of the message (scenarios.replies.Reply): "
                          "intent, plan, text")
    plan: list[Subgoal] | None = None
    avoid: list[str] = Field([], description="what the plan had to leave alone")
    disturbed: list[str] = Field([], description="avoided names it disturbed anyway")
    holds: list[dict] = Field([], description="at the end, each judged subgoal and whether "
                                             "its predicate holds on the true state")
    side_effects: list[dict] = Field(
        [], description="at the end, what the run did beyond its subgoals: {kind: fell | broke "
                        "| displaced, thing, text} (scenarios.side_effects); in a family with "
                        "consequences any of them fails the task")
    ground_truth: list[Subgoal] | None = None
    plan_exact: bool | None = Field(
        None, description="the first plan equals the ground truth (None without ground truth)")
    outcomes: list[SubgoalOutcome] = []
    subgoals_total: int = 0
    subgoals_done: int = Field(
        0, description="subgoals of the task achieved in order on the true state")
    success: bool = False
    steps: int = 0
    seconds: float = 0.0
    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    llm_seconds: float = 0.0
    decision_ms_median: float | None = None
    revisions: int = 0
    imagination: list[dict] = []
    foresight: list[dict] = Field([], description="the critic's verdicts (families with "
                                  "consequences): at_step, text, and either effects, "
                                  "kept_clear, safe (predicted harm) or considered, chosen, "
                                  "plan, why (the choice among candidate plans)")
    llm: str = ""
    world_model: str = ""
    video: str | None = None

    def summary(self) -> str:
        if self.status in ("answered", "declined", "stopped") and self.reply:
            return f"{self.agent} on {self.scenario}/{self.seed}: {self.reply.get('text', '')}"
        verdict = "success" if self.success else f"{self.status}: {self.reason or 'failed'}"
        return (f"{self.agent} on {self.scenario}/{self.seed}: {verdict}; "
                f"{self.subgoals_done}/{self.subgoals_total} subgoals, {self.steps} steps, "
                f"{self.seconds:.1f} s, {self.prompt_tokens + self.completion_tokens} tokens")
