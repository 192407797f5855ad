"""The graph's routers: each reads the state and returns the name of the next node."""

from __future__ import annotations

from agent.graph.contracts import Resources
from agent.graph.nodes import Scenes, subgoals
from agent.graph.state import AgentState


def _act_or_imagine(res: Resources) -> str:
    return "imagine" if res.imaginer else "act"


def after_perceive(state: AgentState, *, res: Resources) -> str:
    return _act_or_imagine(res) if state["given_plan"] else "decompose"


def after_decompose(state: AgentState, *, res: Resources) -> str:
    if state["status"] == "failed":
        return "report"
    if state["question"]:
        if len(state["clarifications"]) >= res.budgets.clarifications:
            return "report"
        return "ask"
    if state["reply"] is not None and state["reply"]["intent"] != "act":
        return "respond"  # answer, imagine, cannot, stop: nothing moves
    return _act_or_imagine(res)


def after_imagine(state: AgentState) -> str:
    if state["question"]:
        return "ask"  # foresight asks before acting (`nodes.confirm`)
    return "revise" if state["feedback"] else "act"


def after_ask(state: AgentState) -> str:
    return "confirm" if state.get("confirm") else "decompose"


def after_confirm(state: AgentState, *, res: Resources) -> str:
    if state["status"] == "declined":
        return "report"
    if state.get("confirming") == "plan":  # asked before imagining: imagine it now
        return _act_or_imagine(res)
    return "act"


def after_act(state: AgentState, *, res: Resources, scenes: Scenes) -> str:
    subgoal = subgoals(state["plan"])[state["current"]]
    if scenes.at(state).holds(subgoal):
        return "verify"
    if state["subgoal_steps"] >= res.budgets.steps_for(subgoal):
        return "verify"
    if state["steps"] >= res.budgets.episode_steps:
        return "verify"
    return "act"


def after_verify(state: AgentState) -> str:
    if state["status"] == "failed":
        return "report"
    if state["feedback"]:
        return "revise"
    if state["current"] >= len(state["plan"]):
        return "report"
    return "act"


def after_revise(state: AgentState, *, res: Resources) -> str:
    if state["status"] == "failed":
        return "report"
    # a vetoed plan the LLM kept as it was: its imagination stands (`nodes.revise`); runs
    # stored before the field existed lack it
    return "act" if state.get("verdict_stands") else _act_or_imagine(res)
