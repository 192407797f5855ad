"""The graph's state: plain data only, so every super-step can be checkpointed.

`initial_state` fills every field, so nodes read `state[key]` and never guess a default.
Lists that only grow carry a reducer: a node returns just the items it adds.
"""

from __future__ import annotations

import operator
from typing import Annotated, TypedDict


class AgentState(TypedDict):
    """Everything a run needs to resume; nodes return partial updates of it."""

    scenario: str
    seed: int
    instruction: str
    given_plan: list[dict] | None  # oracle agents: the plan, no LLM
    ground_truth: list[dict] | None  # judges task success when known
    sim_state: list[float] | None  # the true MuJoCo state vector (None: the layout's start)
    sim_warmstart: list[float] | None  # MuJoCo's solver warm start that goes with it
    executor: dict | None  # what the executor carries between segments (`Executor.snapshot`)
    traj_len: int  # length of the trajectory file that belongs to this checkpoint
    reply: dict | None  # the typed reading of the message (`scenarios.replies.Reply.contract`)
    avoid: list[str]  # names the plan must not disturb (`Plan.avoid`)
    keep_clear: list[str]  # blocks imagination predicted the plan would knock: gone round
    avoid_start: list[float] | None  # the true state when acting began: what "moved" is against
    disturbed: list[str]  # avoided names that were disturbed (a block moved, a place entered)
    holds: list[dict]  # at the end: each judged subgoal and whether it holds on the true state
    start_state: list[float] | None  # the true state when the run began: side effects' origin
    side_effects: list[dict]  # at the end: what the run did beyond its subgoals
    plan: list[dict]
    first_plan: list[dict] | None
    current: int  # index into plan
    attempt: int
    subgoal_steps: int
    subgoal_seconds: float
    subgoal_ms: list[float]
    outcomes: Annotated[list[dict], operator.add]
    revisions: int
    restores: int  # pushes re-done because a later subgoal knocked their block out
    vetoes: Annotated[list[dict], operator.add]  # subgoals imagination sent back to the LLM
    clarifications: Annotated[list[dict], operator.add]  # {"question", "answer"}
    question: str | None
    confirm: str | None  # a yes/no question before acting (what `confirming` says)
    confirming: str | None  # "plan": was this plan asked for? "harm": act though it would harm?
    imagination: Annotated[list[dict], operator.add]  # each with `at_step`: when imagined
    foresight: Annotated[list[dict], operator.add]  # the critic's verdicts: at_step, text
    feedback: str | None  # why the plan goes back to the LLM
    feedback_from: str | None  # "imagination" or "execution"
    verdict_stands: bool  # the LLM kept a vetoed plan as it was: acted on, not imagined again
    steps: int
    monitor_done: int
    llm_calls: int
    prompt_tokens: int
    completion_tokens: int
    llm_seconds: float
    seconds: float
    status: str
    reason: str


def initial_state(scenario: str, seed: int, instruction: str, ground_truth: list[dict] | None,
                  given_plan: list[dict] | None, sim_state: list[float] | None) -> AgentState:
    """The state a run starts from: every counter at zero, nothing planned yet."""
    return AgentState(
        scenario=scenario, seed=seed, instruction=instruction, given_plan=given_plan,
        ground_truth=ground_truth, sim_state=sim_state, sim_warmstart=None, executor=None,
        traj_len=1, reply=None, avoid=[], keep_clear=[], avoid_start=None, disturbed=[],
        holds=[],
        start_state=None, side_effects=[], plan=[], first_plan=None,
        current=0, attempt=1, subgoal_steps=0, subgoal_seconds=0.0, subgoal_ms=[],
        outcomes=[], revisions=0, restores=0, vetoes=[], clarifications=[], question=None,
        confirm=None, confirming=None,
        imagination=[], foresight=[], feedback=None, feedback_from=None, verdict_stands=False,
        steps=0, monitor_done=0,
        llm_calls=0, prompt_tokens=0, completion_tokens=0, llm_seconds=0.0, seconds=0.0,
        status="running", reason="")
