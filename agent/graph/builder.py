"""The agent's LangGraph state machine.

perceive -> decompose (-> ask the person -> decompose) -> imagine -> act (in segments) ->
verify -> next subgoal | retry | revise (LLM) -> imagine -> act ... -> report

The graph state holds only plain data (the true simulator state as a list of floats, the plan
as dicts, counters), so every super-step is checkpointed by the SQLite checkpointer and a run
killed at any point resumes from its last finished step. Heavy things (the world model, the
LLM, the MuJoCo world) are resources given to `build_graph`, rebuilt from the state on demand.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypedDict

import numpy as np
from langchain_core.runnables import RunnableConfig
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt

from scenarios import World, get
from scenarios.scene import SceneDescription
from scenarios.subgoals import Subgoal
from scenarios.tasks import TaskMonitor


class AgentState(TypedDict, total=False):
    """Everything a run needs to resume; nodes return partial updates of it."""

    scenario: str
    seed: int
    instruction: str
    given_plan: list[dict] | None  # oracle agents: the plan, no LLM
    ground_truth: list[dict] | None  # judges task success when known
    sim_state: list[float]  # the true MuJoCo state vector
    traj_len: int  # length of the trajectory file that belongs to this checkpoint
    plan: list[dict]
    first_plan: list[dict] | None
    current: int  # index into plan
    attempt: int
    subgoal_steps: int
    subgoal_seconds: float
    subgoal_ms: list[float]
    outcomes: list[dict]
    revisions: int
    restores: int  # pushes re-done because a later subgoal knocked their block out
    vetoes: list[dict]  # subgoals the imagination check sent back to the LLM
    clarifications: list[dict]  # {"question", "answer"}
    question: str | None
    imagination: list[dict]
    feedback: str | None  # why the plan goes back to the LLM
    feedback_from: str | None  # "imagination" or "execution"
    steps: int
    monitor_done: int
    llm_calls: int
    prompt_tokens: int
    completion_tokens: int
    llm_seconds: float
    seconds: float
    status: str
    reason: str


@dataclass(frozen=True)
class Budgets:
    """Bounds on every loop of the graph: when one runs out, the reason is recorded."""

    go_steps: int = 150
    """control steps allowed for one attempt at a `go` subgoal"""
    push_steps: int = 250
    """control steps allowed for one attempt at a `push` subgoal"""
    episode_steps: int = 1500
    """control steps for the whole episode"""
    retries: int = 1
    """extra attempts at a failed subgoal before the LLM is asked to revise"""
    revisions: int = 2
    """times the LLM may revise the plan after a subgoal failed in the real world"""
    vetoes: int = 1
    """times the imagination check may send the plan back to the LLM; a subgoal it has
    already sent back once is acted on anyway (the world model can be wrong too)"""
    clarifications: int = 2
    """questions the agent may ask the person per run"""
    restores: int = 2
    """times a push already achieved may be done again after a later subgoal knocked its
    block out of the zone (checked after every achieved subgoal)"""
    segment: int = 20
    """control steps per act node: the checkpoint granularity of execution"""

    def __post_init__(self):
        for name in ("go_steps", "push_steps", "episode_steps", "segment"):
            if getattr(self, name) < 1:
                raise ValueError(f"Budgets.{name} must be at least 1")
        for name in ("retries", "revisions", "vetoes", "clarifications", "restores"):
            if getattr(self, name) < 0:
                raise ValueError(f"Budgets.{name} must be 0 or more")

    def steps_for(self, subgoal: Subgoal) -> int:
        return self.go_steps if subgoal.skill == "go" else self.push_steps

    def recursion_limit(self, max_subgoals: int = 12) -> int:
        """A LangGraph recursion limit the budgets can never reach."""
        attempts = (max_subgoals + self.restores) * (1 + self.retries) * (1 + self.revisions)
        per_attempt = -(-max(self.go_steps, self.push_steps) // self.segment) + 2
        return 50 + attempts * per_attempt + 4 * (self.revisions + self.vetoes
                                                   + self.clarifications)


class StepReport(Protocol):
    step: int
    energy: float | None
    decision_ms: float


class Executor(Protocol):
    """Acts for one subgoal in the real world, for at most `max_steps` control steps."""

    name: str

    def run(self, world: World, subgoal: Subgoal, max_steps: int,
            on_step: Callable[[Any], None]) -> Any:
        """Returns .success, .steps, .states (T+1, S), .decision_ms; `on_step` gets progress
        reports (.step: control steps so far, .energy, .decision_ms) for the event stream."""
        ...

    def reset(self) -> None:
        """Forget warm starts: the next call starts a new subgoal or attempt."""


class Decomposer(Protocol):
    """Turns an instruction into a plan (or a question), and revises it after a failure."""

    name: str

    def decompose(self, scene: SceneDescription, instruction: str) -> Any:
        ...  # .plan .question .problems .usage

    def revise(self, scene: SceneDescription, instruction: str, done: list[Subgoal],
               failed: Subgoal, reason: str) -> Any:
        ...


class Imaginer(Protocol):
    """Predicts, without simulation, whether a subgoal will be reached from a state."""

    def check(self, world: World, state: np.ndarray, subgoal: Subgoal) -> dict:
        ...  # {"ok": bool, "reason": str, "predicted_state": list[float], ...}


@dataclass
class Resources:
    """What the graph's nodes use; none of it is checkpointed."""

    executor: Executor
    decomposer: Decomposer | None = None
    imaginer: Imaginer | None = None
    budgets: Budgets = Budgets()
    trajectory: Callable[[str, int, np.ndarray], None] | None = None
    """called with (thread_id, keep, states): truncate the thread's trajectory to `keep`
    states and append `states` (the video is rendered from it afterwards)"""


def _emit(event: dict) -> None:
    try:
        get_stream_writer()(event)
    except RuntimeError:  # not running inside a stream: nobody listens
        pass


def _subgoals(items: list[dict] | None) -> list[Subgoal]:
    return [Subgoal.model_validate(x) for x in items or []]


def _usage_update(state: AgentState, usage: Any) -> dict:
    if usage is None:
        return {}
    return {
        "llm_calls": state.get("llm_calls", 0) + int(getattr(usage, "calls", 1)),
        "prompt_tokens": state.get("prompt_tokens", 0) + int(usage.prompt_tokens),
        "completion_tokens": state.get("completion_tokens", 0) + int(usage.completion_tokens),
        "llm_seconds": state.get("llm_seconds", 0.0) + float(usage.seconds),
    }


def build_graph(res: Resources, checkpointer=None):
    """Compile the agent graph over `res`; `checkpointer` makes it durable."""
    budgets = res.budgets
    worlds: dict[tuple[str, int], World] = {}

    def world_at(state: AgentState) -> World:
        key = (state["scenario"], state["seed"])
        if key not in worlds:
            worlds.clear()
            worlds[key] = World(get(key[0]).layout(key[1]))
        world = worlds[key]
        if state.get("sim_state") is not None:
            world.set_state(np.asarray(state["sim_state"]))
        else:
            world.reset()
        return world

    def scene_of(state: AgentState) -> SceneDescription:
        world = world_at(state)
        return SceneDescription.from_layout(world.layout, world.state())

    def judge(state: AgentState) -> list[Subgoal]:
        return _subgoals(state.get("ground_truth")) or _subgoals(state.get("plan"))

    def timed(node: Callable[[AgentState, dict], dict]) -> Callable[[AgentState, Any], dict]:
        def run(state: AgentState, config: RunnableConfig) -> dict:
            start = time.perf_counter()
            out = node(state, dict(config or {}))
            out["seconds"] = state.get("seconds", 0.0) + time.perf_counter() - start
            return out
        run.__name__ = node.__name__
        return run

    # --- nodes ----------------------------------------------------------------------------
    def perceive(state: AgentState, config: dict) -> dict:
        world = world_at(state)
        s = world.state()
        out: dict = {"sim_state": s.tolist(), "status": "running", "reason": "",
                     "traj_len": 1, "steps": 0, "outcomes": [], "revisions": 0,
                     "restores": 0, "vetoes": [],
                     "clarifications": [], "imagination": [], "monitor_done": 0,
                     "question": None, "feedback": None}
        gt = _subgoals(state.get("ground_truth"))
        for s_ in gt:
            world.holds(s_)  # unknown names fail before anything runs
        if res.trajectory:
            res.trajectory(_thread(config), 0, s[None])
        if state.get("given_plan"):
            out.update(plan=state["given_plan"], first_plan=state["given_plan"], current=0,
                       attempt=1, subgoal_steps=0, subgoal_seconds=0.0, subgoal_ms=[])
        _emit({"type": "perceived", "scene": scene_of(state).to_text()})
        return out

    def decompose(state: AgentState, config: dict) -> dict:
        assert res.decomposer is not None
        # The question asks what to do instead, so the latest answer is the goal now.
        asked = state.get("clarifications", [])
        instruction = asked[-1]["answer"] if asked else state["instruction"]
        d = res.decomposer.decompose(scene_of(state), instruction)
        out = _usage_update(state, d.usage)
        if d.question:
            _emit({"type": "question", "question": d.question})
            return {**out, "question": d.question}
        if d.plan is None or not d.plan.subgoals:
            why = "; ".join(d.problems) or "the LLM gave no usable plan"
            return {**out, "status": "failed", "reason": f"decomposition failed: {why}"}
        plan = [s.model_dump() for s in d.plan.subgoals]
        _emit({"type": "plan", "plan": plan, "problems": list(d.problems)})
        return {**out, "plan": plan, "first_plan": state.get("first_plan") or plan,
                "current": 0, "attempt": 1, "subgoal_steps": 0, "subgoal_seconds": 0.0,
                "subgoal_ms": [], "question": None}

    def ask(state: AgentState, config: dict) -> dict:
        question = state["question"]
        answer = interrupt({"question": question})
        asked = state.get("clarifications", []) + [{"question": question, "answer": answer}]
        return {"clarifications": asked, "question": None}

    def imagine(state: AgentState, config: dict) -> dict:
        assert res.imaginer is not None
        world = world_at(state)
        plan = _subgoals(state["plan"])
        predicted = world.state()
        results = []
        for i in range(state["current"], len(plan)):
            r = res.imaginer.check(world, predicted, plan[i])
            r = {**r, "subgoal": plan[i].model_dump(), "index": i,
                 "revision": state.get("revisions", 0)}
            results.append(r)
            _emit({"type": "imagined", **r})
            if not r["ok"]:
                break
            predicted = np.asarray(r["predicted_state"])
        out: dict = {"imagination": state.get("imagination", []) + results}
        bad = next((r for r in results if not r["ok"]), None)
        vetoes = state.get("vetoes", [])
        out["feedback"] = None
        if (bad is not None and res.decomposer is not None and len(vetoes) < budgets.vetoes
                and bad["subgoal"] not in vetoes):
            failed = Subgoal.model_validate(bad["subgoal"])
            out["feedback"] = (f"the world model predicts that '{failed.text()}' will not be "
                               f"reached: {bad['reason']}")
            out["vetoes"] = vetoes + [bad["subgoal"]]
            out["feedback_from"] = "imagination"
        return out

    def act(state: AgentState, config: dict) -> dict:
        world = world_at(state)
        plan = _subgoals(state["plan"])
        subgoal = plan[state["current"]]
        if state.get("subgoal_steps", 0) == 0:
            res.executor.reset()
            _emit({"type": "subgoal_started", "index": state["current"],
                   "subgoal": subgoal.model_dump(), "attempt": state.get("attempt", 1)})
        monitor = TaskMonitor(world.layout, judge(state))
        monitor.done = state.get("monitor_done", 0)
        left_subgoal = budgets.steps_for(subgoal) - state.get("subgoal_steps", 0)
        left_episode = budgets.episode_steps - state.get("steps", 0)
        n = max(0, min(budgets.segment, left_subgoal, left_episode))
        base = state.get("steps", 0)

        def on_step(info: Any) -> None:
            _emit({"type": "mpc_step", "step": base + int(info.step), "index": state["current"],
                   "energy": getattr(info, "energy", None),
                   "decision_ms": getattr(info, "decision_ms", None)})

        result = res.executor.run(world, subgoal, n, on_step) if n else None
        # Every state the executor passed through: the monitor must see transient successes.
        states = list(result.states[1:]) if result is not None else []
        for s in states:
            monitor.update(s)
        if res.trajectory and states:
            res.trajectory(_thread(config), state.get("traj_len", 1), np.asarray(states))
        used = state.get("subgoal_steps", 0) + len(states)
        if not states and not world.holds(subgoal):
            used = budgets.steps_for(subgoal)  # the executor gave up: stop this attempt
        return {
            "sim_state": world.state().tolist(),
            "traj_len": state.get("traj_len", 1) + len(states),
            "steps": base + len(states),
            "subgoal_steps": used,
            "subgoal_ms": state.get("subgoal_ms", []) + list(getattr(result, "decision_ms", [])),
            "monitor_done": monitor.done,
        }

    def verify(state: AgentState, config: dict) -> dict:
        world = world_at(state)
        plan = _subgoals(state["plan"])
        subgoal = plan[state["current"]]
        ok = world.holds(subgoal)
        ms = state.get("subgoal_ms", [])
        reason = ""
        if not ok:
            if state.get("steps", 0) >= budgets.episode_steps:
                reason = f"episode step budget ({budgets.episode_steps}) exhausted"
            else:
                reason = (f"not reached within {budgets.steps_for(subgoal)} steps; "
                          f"{_where(world, subgoal)}")
        outcome = {"subgoal": subgoal.model_dump(), "success": ok,
                   "steps": state.get("subgoal_steps", 0),
                   "seconds": state.get("seconds", 0.0) - state.get("subgoal_seconds", 0.0),
                   "attempt": state.get("attempt", 1), "reason": reason,
                   "decision_ms_median": float(np.median(ms)) if ms else None}
        _emit({"type": "subgoal_done", "index": state["current"], **outcome})
        out: dict = {"outcomes": state.get("outcomes", []) + [outcome], "subgoal_steps": 0,
                     "subgoal_ms": [], "subgoal_seconds": state.get("seconds", 0.0)}
        if ok:
            out.update(current=state["current"] + 1, attempt=1, feedback=None)
            undone = _knocked_out(world, plan[: state["current"] + 1])
            left = budgets.restores - state.get("restores", 0)
            if undone and left > 0:
                # Verify what is already done, not only the last subgoal: a push can knock an
                # earlier block out of its zone. Do that push again, next.
                undone = undone[:left]
                new = plan[: state["current"] + 1] + undone + plan[state["current"] + 1:]
                out.update(plan=[x.model_dump() for x in new],
                           restores=state.get("restores", 0) + len(undone))
                _emit({"type": "plan", "plan": out["plan"], "revised": True,
                       "reason": "knocked out of its zone: " + "; ".join(
                           x.text() for x in undone)})
        elif state.get("steps", 0) >= budgets.episode_steps:
            out.update(status="failed", reason=reason)
        elif state.get("attempt", 1) <= budgets.retries:
            out.update(attempt=state.get("attempt", 1) + 1)
        elif res.decomposer is not None and state.get("revisions", 0) < budgets.revisions:
            out.update(feedback=f"'{subgoal.text()}' failed: {reason}",
                       feedback_from="execution")
        else:
            why = "no revisions left" if res.decomposer is not None else "no LLM to revise"
            out.update(status="failed", reason=f"'{subgoal.text()}' failed ({reason}); {why}")
        return out

    def revise(state: AgentState, config: dict) -> dict:
        assert res.decomposer is not None
        plan = _subgoals(state["plan"])
        done, failed = plan[: state["current"]], plan[state["current"]]
        feedback = state.get("feedback") or ""
        _emit({"type": "revision", "reason": feedback, "failed": failed.model_dump()})
        d = res.decomposer.revise(scene_of(state), state["instruction"], done, failed, feedback)
        # Vetoes from imagination have their own budget; revisions count real failures.
        real = state.get("feedback_from") == "execution"
        out = {**_usage_update(state, d.usage), "feedback": None, "feedback_from": None,
               "revisions": state.get("revisions", 0) + (1 if real else 0)}
        left = plan[state["current"]:]
        if (d.plan is None or not d.plan.subgoals) and real:
            why = d.question or "; ".join(d.problems) or "no usable plan"
            return {**out, "status": "failed", "reason": f"revision failed: {why}"}
        # A revision re-plans the work that is left; it may not add work nobody asked for. The
        # small planner sometimes invents a push of another block, which then moves that block
        # for nothing; such subgoals are dropped (and the work left kept if nothing remains).
        proposed = list(d.plan.subgoals) if d.plan is not None else []
        kept = [s for s in proposed if s in left]
        invented = [s.text() for s in proposed if s not in left]
        notes = ["dropped, not part of the work left: " + "; ".join(invented)] if invented else []
        if not real and not _keeps_order(kept, left[1:]):
            # The imagination check is advice: a revision it prompted may change how the
            # vetoed subgoal is reached, not drop what the person asked for after it.
            notes.append("the revision lost work the instruction asks for; acting on the plan "
                         "as it was")
            kept = left
        new = [s.model_dump() for s in done + (kept or left)]
        event = {"type": "plan", "plan": new, "revised": True}
        if notes:
            event["reason"] = "; ".join(notes)
        _emit(event)
        return {**out, "plan": new, "attempt": 1, "subgoal_steps": 0, "subgoal_ms": []}

    def report(state: AgentState, config: dict) -> dict:
        world = world_at(state)
        monitor = TaskMonitor(world.layout, judge(state))
        monitor.done = state.get("monitor_done", 0)
        if not state.get("ground_truth"):  # judged on its own plan: the verified subgoals
            monitor.done = state.get("current", 0)
        success = state.get("status") == "running" and monitor.success(world.state())
        status = state.get("status", "running")
        if status == "running":
            status = "done" if success else "failed"
        reason = state.get("reason", "")
        if status == "failed" and not reason:
            reason = "a pushed block left its zone" if monitor.done == len(
                monitor.subgoals) else "not every subgoal was achieved"
        _emit({"type": "report", "status": status, "success": success})
        return {"status": status, "reason": reason, "monitor_done": monitor.done}

    # --- routing --------------------------------------------------------------------------
    def after_perceive(state: AgentState) -> str:
        if state.get("given_plan"):
            return "imagine" if res.imaginer else "act"
        return "decompose"

    def after_decompose(state: AgentState) -> str:
        if state.get("status") == "failed":
            return "report"
        if state.get("question"):
            if len(state.get("clarifications", [])) >= budgets.clarifications:
                return "report"
            return "ask"
        return "imagine" if res.imaginer else "act"

    def after_imagine(state: AgentState) -> str:
        return "revise" if state.get("feedback") else "act"

    def after_act(state: AgentState) -> str:
        world = world_at(state)
        subgoal = _subgoals(state["plan"])[state["current"]]
        if world.holds(subgoal):
            return "verify"
        if state.get("subgoal_steps", 0) >= budgets.steps_for(subgoal):
            return "verify"
        if state.get("steps", 0) >= budgets.episode_steps:
            return "verify"
        return "act"

    def after_verify(state: AgentState) -> str:
        if state.get("status") == "failed":
            return "report"
        if state.get("feedback"):
            return "revise"
        if state["current"] >= len(state["plan"]):
            return "report"
        return "act"

    def after_revise(state: AgentState) -> str:
        if state.get("status") == "failed":
            return "report"
        return "imagine" if res.imaginer else "act"

    g = StateGraph(AgentState)
    for node in (perceive, decompose, ask, imagine, act, verify, revise, report):
        g.add_node(node.__name__, timed(node))
    g.add_edge(START, "perceive")
    g.add_conditional_edges("perceive", after_perceive, ["decompose", "imagine", "act"])
    g.add_conditional_edges("decompose", after_decompose, ["ask", "imagine", "act", "report"])
    g.add_edge("ask", "decompose")
    g.add_conditional_edges("imagine", after_imagine, ["revise", "act"])
    g.add_conditional_edges("act", after_act, ["act", "verify"])
    g.add_conditional_edges("verify", after_verify, ["act", "revise", "report"])
    g.add_conditional_edges("revise", after_revise, ["imagine", "act", "report"])
    g.add_edge("report", END)
    return g.compile(checkpointer=checkpointer)


def _keeps_order(plan: list[Subgoal], needed: list[Subgoal]) -> bool:
    """Whether `needed` occurs in `plan` in order (other subgoals may come between)."""
    it = iter(plan)
    return all(any(s == x for x in it) for s in needed)


def _knocked_out(world: World, done: list[Subgoal]) -> list[Subgoal]:
    """The pushes in `done` whose block is no longer where its latest push put it."""
    latest: dict[str, Subgoal] = {}
    for s in done:
        if s.skill == "push":
            latest[s.object] = s
    return [s for s in latest.values() if not world.holds(s)]


def _thread(config: dict) -> str:
    return str(config.get("configurable", {}).get("thread_id", "default"))


def _where(world: World, subgoal: Subgoal) -> str:
    """Where the thing that should have moved ended up, in words."""
    target = np.asarray(world.layout.target(subgoal.target).pos)
    s = world.state()
    if subgoal.skill == "go":
        pos, what = s[0:2], "the agent"
    else:
        i = world.layout.block_index(subgoal.object)
        pos, what = s[4 + 4 * i: 6 + 4 * i], f"the {subgoal.object}"
    return f"{what} is {np.linalg.norm(pos - target):.2f} m from the {subgoal.target}"


def mermaid() -> str:
    """The compiled graph (with every optional node present) as a mermaid diagram."""

    class _Absent:  # resources are never called while drawing
        name = "none"

    res = Resources(executor=_Absent(), decomposer=_Absent(), imaginer=_Absent())  # type: ignore[arg-type]
    return build_graph(res).get_graph().draw_mermaid()
