"""The graph's nodes: module-level functions of (state, config), bound to their resources
by `functools.partial` in the builder. Each returns a partial update of `AgentState`.

The world is rebuilt from the checkpointed state on demand (`Scenes`); the nodes look at it
and act on it only through `tools/` and the executor, imaginer and decomposer they are given.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import asdict

import numpy as np
from langchain_core.runnables import RunnableConfig
from langgraph.config import get_stream_writer
from langgraph.types import interrupt

from agent.graph import events as ev
from agent.graph.contracts import Resources
from agent.graph.rules import merge_revision, with_restores
from agent.graph.state import AgentState
from agent.llm.base import Usage
from scenarios.registry import get
from scenarios.relations import disturbed
from scenarios.replies import Reply
from scenarios.scene import SceneDescription
from scenarios.side_effects import SideEffect, consequential
from scenarios.subgoals import Plan, Subgoal
from scenarios.tasks import TaskMonitor
from scenarios.world import World
from tools import answers
from tools.acting import StepInfo
from tools.imagination import choose, going_round, imagine_plan
from tools.scene import describe, knocked_out, where

Node = Callable[..., dict]


class Scenes:
    """The MuJoCo world of the run's scene, set to the checkpointed true state on demand."""

    def __init__(self):
        self._worlds: dict[tuple[str, int], World] = {}

    def at(self, state: AgentState) -> World:
        key = (state["scenario"], state["seed"])
        if key not in self._worlds:
            self._worlds.clear()
            self._worlds[key] = World(get(key[0]).layout(key[1]))
        world = self._worlds[key]
        if state["sim_state"] is not None:
            world.set_state(np.asarray(state["sim_state"]), state["sim_warmstart"])
        else:
            world.reset()
        return world

    def describe(self, state: AgentState) -> SceneDescription:
        return describe(self.at(state))


def emit(event: ev.Event) -> None:
    """Send `event` to whoever streams the run (nobody, outside a stream)."""
    try:
        get_stream_writer()(event)
    except RuntimeError:  # not running inside a stream: nobody listens
        pass


def subgoals(items: list[dict] | None) -> list[Subgoal]:
    return [Subgoal.model_validate(x) for x in items or []]


def judged(state: AgentState) -> list[Subgoal]:
    """What success is judged against: the ground truth when known, else the plan."""
    return subgoals(state["ground_truth"]) or subgoals(state["plan"])


def thread_of(config: RunnableConfig) -> str:
    return str((config or {}).get("configurable", {}).get("thread_id", "default"))


def usage_update(state: AgentState, usage: Usage | None) -> dict:
    if usage is None:
        return {}
    return {"llm_calls": state["llm_calls"] + int(usage.calls),
            "prompt_tokens": state["prompt_tokens"] + int(usage.prompt_tokens),
            "completion_tokens": state["completion_tokens"] + int(usage.completion_tokens),
            "llm_seconds": state["llm_seconds"] + float(usage.seconds)}


def timed(node: Node) -> Node:
    """`node` adding its wall time to the run's `seconds`."""
    def run(state: AgentState, config: RunnableConfig) -> dict:
        start = time.perf_counter()
        out = node(state, config)
        out["seconds"] = state["seconds"] + time.perf_counter() - start
        return out
    return run


def perceive(state: AgentState, config: RunnableConfig, *, res: Resources,
             scenes: Scenes) -> dict:
    world = scenes.at(state)
    s = world.state()
    for subgoal in subgoals(state["ground_truth"]):
        world.holds(subgoal)  # unknown names fail before anything runs
    if res.trajectory:
        res.trajectory(thread_of(config), 0, s[None])
    out: dict = {"sim_state": s.tolist(), "traj_len": 1,
                 "start_state": state["start_state"] or s.tolist()}
    if state["given_plan"]:
        out.update(plan=state["given_plan"], first_plan=state["given_plan"])
    emit(ev.Perceived(scenes.describe(state).to_text()))
    return out


def _message(state: AgentState) -> str:
    """What the person asks for now: the latest answer to a question back (it said what to
    do instead), not a yes/no to go ahead; else the run's instruction."""
    asked = [c for c in state["clarifications"] if "confirm" not in c]
    return asked[-1]["answer"] if asked else state["instruction"]


def decompose(state: AgentState, config: RunnableConfig, *, res: Resources,
              scenes: Scenes) -> dict:
    assert res.decomposer is not None
    d = res.decomposer.decompose(scenes.describe(state), _message(state))
    out = usage_update(state, d.usage)
    reply = d.reply.contract() if d.reply is not None else None
    if d.question:
        emit(ev.Question(d.question))
        return {**out, "question": d.question, "reply": reply}
    if d.reply is not None and not d.reply.moves:  # answer, imagine, cannot, stop
        return {**out, "reply": reply, "question": None}
    if d.plan is None or not d.plan.subgoals:
        why = "; ".join(d.problems) or "the LLM gave no usable plan"
        return {**out, "status": "failed", "reason": f"decomposition failed: {why}",
                "reply": reply}
    plan = [s.model_dump() for s in d.plan.subgoals]
    said = answers.understood(d.plan)
    emit(ev.Replied("act", said))
    emit(ev.PlanMade(plan, list(d.problems)))
    reply = {**(reply or {}), "text": said}
    out = {**out, "plan": plan, "first_plan": state["first_plan"] or plan, "current": 0,
           "attempt": 1, "subgoal_steps": 0, "subgoal_seconds": 0.0, "subgoal_ms": [],
           "question": None, "reply": reply, "avoid": list(d.plan.avoid)}
    if d.asks_first:  # the model half read it as a what-if or a question: ask, do not guess
        question = (f"{said} But {d.doubt}. Did you mean for me to do that now? (yes / no; "
                    "or ask 'what would happen if ...' and I will only tell you)")
        emit(ev.Question(question))
        return {**out, "question": question, "confirm": question, "confirming": "plan"}
    return out


RESPONDED = {"answer": "answered", "imagine": "answered", "cannot": "declined",
             "stop": "stopped"}
"""the run's status after a reply that moves nothing"""


def respond(state: AgentState, config: RunnableConfig, *, res: Resources,
            scenes: Scenes) -> dict:
    """Answer a message that asks for nothing to move, from the true scene (a question), the
    world model (a what-if), the skills (why not) or by stopping. Nothing moves here."""
    reply = Reply.model_validate(state["reply"])
    world = scenes.at(state)
    before = world.state()
    imagine = res.imaginer.imagine if res.imaginer is not None else None
    try:
        text = answers.respond(world, before, reply, imagine, _message(state) or "")
    finally:
        world.set_state(before)  # imagining reads the world; it never moves it
    emit(ev.Replied(reply.intent, text))
    return {"reply": {**state["reply"], "text": text}, "status": RESPONDED[reply.intent],
            "reason": ""}


def ask(state: AgentState, config: RunnableConfig) -> dict:
    question = state["question"]
    answer = interrupt({"question": question})
    asked = {"question": question, "answer": answer}
    if state.get("confirm"):  # .get: a run checkpointed before this field existed
        asked["confirm"] = state.get("confirming") or "harm"
    return {"clarifications": [asked], "question": None}


_YES = re.compile(r"^\s*(yes|y|yeah|yep|ok|okay|sure|fine|go ahead|go on|do it|proceed|carry on)"
                  r"\b", re.IGNORECASE)


def confirm(state: AgentState, config: RunnableConfig) -> dict:
    """The person's answer to a yes/no question before acting (was this plan asked for; act
    though foresight predicts harm): "yes" (or "go ahead", "ok", ...) acts; anything else
    declines, and nothing moves."""
    answer = state["clarifications"][-1]["answer"]
    if _YES.match(answer or ""):
        emit(ev.Replied("act", "going ahead, as you said"))
        return {"confirm": None}
    if state.get("confirming") == "plan":
        text = ("I did not act, and nothing moved. Tell me what you would like: something "
                "to do, a question, or 'what would happen if ...'.")
        why = "the person did not confirm the plan the agent was unsure it was asked for"
    else:
        text = ("I did not act: you did not say to go ahead with what I foresaw "
                f"({state['confirm']}). Tell me another way to do it, or something else to do.")
        why = "the person did not confirm a plan foresight predicted would harm"
    emit(ev.Replied("act", text))
    reply = {**(state["reply"] or {"intent": "act"}), "text": text}
    return {"confirm": None, "status": "declined", "reason": why, "reply": reply}


def _candidates(state: AgentState, res: Resources, scenes: Scenes,
                plan: list[Subgoal]) -> tuple[list[list[Subgoal]], Usage | None]:
    """The plans the critic compares: before the first step of an LLM plan, the plans that
    mean the same (`Resources.candidates` of them, the LLM's first); else the plan alone."""
    fresh = (state["current"] == 0 and state["steps"] == 0 and not state["revisions"]
             and not state["given_plan"])
    pick = getattr(res.decomposer, "candidates", None)
    if res.candidates <= 1 or not fresh or pick is None:
        return [plan], None
    plans, usage = pick(scenes.describe(state), _message(state),
                        Plan(subgoals=plan, avoid=state["avoid"]), res.candidates)
    return [p.subgoals for p in plans], usage


def _foresee(state: AgentState, res: Resources, scenes: Scenes, world: World,
             plan: list[Subgoal]) -> tuple[list, list[str], list[SideEffect], dict]:
    """The plan imagined from the current subgoal; in a family with consequences, the way
    chosen by the world model as critic: among the candidate plans (`_candidates`), and for
    each, going round what it would knock (`tools.imagination.choose`). Returns (the chosen
    imagination, the blocks to keep clear of, the harm even that way is sure to do, an update
    of the state: the critic's verdicts for the record, the plan if another order was chosen,
    the LLM's usage)."""
    avoid, clear = tuple(state["avoid"]), tuple(state["keep_clear"])
    if not consequential(world.layout):
        return imagine_plan(res.imaginer.imagine, world, plan, state["current"],
                            avoid + clear)[0], list(clear), [], {}
    # Go round every block the plan does not push from the start, as the careful rule does,
    # and imagine that way: predicting which blocks a straight push would knock missed 1 in 8
    # (BENCHMARKS.md), and each miss was a knock. The critic's part is then the harm even
    # that way is sure to do, and the choice among candidates.
    extra = going_round(world.layout, plan, avoid + clear)
    plans, usage = _candidates(state, res, scenes, plan)
    i, f, seen = choose(res.imaginer.imagine, world, plans, state["current"], avoid,
                        clear + extra)
    update: dict = {"foresight": []}
    if len(plans) > 1:
        why = (f"predicted {'safe' if not seen[i].chosen else 'the least harm'}"
               + (f"; in the LLM's order {seen[0].predicted[0].text()}"
                  if i and seen[0].predicted else ""))
        chose = ev.Chose(len(plans), i, [s.model_dump() for s in plans[i]], why)
        emit(chose)
        update["foresight"].append({"at_step": state["steps"], "text": chose.text(),
                                    **asdict(chose)})
        update.update(usage_update(state, usage))
        if i:
            update["plan"] = [s.model_dump() for s in plans[i]]
    # The plan as written, imagined straight once (when going round is first decided): what
    # the video and the record show was rejected, and why. It does not change the choice.
    straight = (imagine_plan(res.imaginer.imagine, world, plans[i], state["current"],
                             avoid + clear)[1] if extra else [])
    if straight or f.chosen:
        event = ev.Foresaw([e.text() for e in straight], list(f.keep_clear), not f.chosen,
                           rerouted=bool(extra), chosen=[e.text() for e in f.chosen])
        emit(event)
        update["foresight"].append({"at_step": state["steps"], "text": event.text(),
                                    **asdict(event)})
    return f.imagined, list(f.keep_clear), f.unsafe, update


def _confirmation(state: AgentState, unsafe: list[SideEffect]) -> str | None:
    """The question to ask before acting when even the chosen way is sure to harm, unless
    the person was asked once in this run already (and said go ahead)."""
    if not unsafe or any(c.get("confirm") in (True, "harm") for c in state["clarifications"]):
        return None
    harm = "; ".join(e.text() for e in unsafe)
    return (f"Whichever way I take it, I foresee that {harm}. Should I go ahead anyway? "
            "(yes / no)")


def imagine(state: AgentState, config: RunnableConfig, *, res: Resources,
            scenes: Scenes) -> dict:
    """Imagine the plan from the current subgoal on, up to the first predicted failure (and,
    where side effects count, choose the way round what it would knock: `_foresee`); a
    failure sends the plan back to the LLM once per subgoal, within the veto budget."""
    assert res.imaginer is not None
    world = scenes.at(state)
    imagined, clear, unsafe, update = _foresee(state, res, scenes, world,
                                               subgoals(state["plan"]))
    plan = subgoals(update.get("plan", state["plan"]))
    trusted = not clear  # `ROUND_MISS`: a miss imagined going round other blocks is no evidence
    results: list[dict] = []
    for i, im in imagined:
        r = {**asdict(im), "subgoal": plan[i].model_dump(), "index": i,
             "revision": state["revisions"], "at_step": state["steps"], "trusted": trusted}
        results.append(r)
        emit(ev.Imagined(i, r["subgoal"], state["revisions"], im.ok, im.reason,
                         im.predicted_state, im.steps, trusted))
    out: dict = {"foresight": [], **update, "imagination": results, "feedback": None,
                 "keep_clear": clear, "verdict_stands": False}
    question = _confirmation(state, unsafe)
    if question is not None:  # nothing moves before the person says go ahead
        emit(ev.Question(question))
        return {**out, "question": question, "confirm": question, "confirming": "harm"}
    bad = next((r for r in results if not r["ok"]), None)
    vetoes = state["vetoes"]
    if (bad is not None and trusted and res.decomposer is not None
            and len(vetoes) < res.budgets.vetoes and bad["subgoal"] not in vetoes
            and getattr(res.imaginer, "can_veto", True)):
        failed = Subgoal.model_validate(bad["subgoal"])
        out.update(feedback=f"the world model predicts that '{failed.text()}' will not be "
                            f"reached: {bad['reason']}",
                   vetoes=[bad["subgoal"]], feedback_from="imagination")
    return out


def _kept_clear(state: AgentState, res: Resources, world: World) -> list[str]:
    """What the executor goes round beyond the person's `avoid`: what foresight chose, or,
    for a careful agent where side effects count, every block the plan does not push."""
    if res.careful:
        return list(going_round(world.layout, subgoals(state["plan"])))
    return list(state["keep_clear"])


def act(state: AgentState, config: RunnableConfig, *, res: Resources, scenes: Scenes) -> dict:
    """One segment of execution (at most `Budgets.segment` control steps): the checkpoint
    granularity of a run."""
    budgets = res.budgets
    world = scenes.at(state)
    index = state["current"]
    subgoal = subgoals(state["plan"])[index]
    if state["subgoal_steps"] == 0:
        res.executor.reset()
        emit(ev.SubgoalStarted(index, subgoal.model_dump(), state["attempt"]))
    else:  # continue from the checkpoint, whichever process wrote it
        res.executor.restore(state["executor"])
    monitor = TaskMonitor(world.layout, judged(state))
    monitor.done = state["monitor_done"]
    left_subgoal = budgets.steps_for(subgoal) - state["subgoal_steps"]
    left_episode = budgets.episode_steps - state["steps"]
    n = max(0, min(budgets.segment, left_subgoal, left_episode))
    base = state["steps"]

    def on_step(info: StepInfo) -> None:
        emit(ev.MpcStep(base + int(info.step), index, info.energy, info.decision_ms))

    start = state["avoid_start"] or world.state().tolist()
    avoid = tuple(state["avoid"])
    keep_clear = avoid + tuple(x for x in _kept_clear(state, res, world) if x not in avoid)
    result = res.executor.run(world, subgoal, n, on_step, avoid=keep_clear) if n else None
    # Every state the executor passed through: the monitor must see transient successes.
    states = list(result.states[1:]) if result is not None else []
    for s in states:
        monitor.update(s)
    hit = disturbed(world.layout, np.asarray(start), np.asarray(states), list(avoid)) \
        if states and avoid else []
    if res.trajectory and states:
        res.trajectory(thread_of(config), state["traj_len"], np.asarray(states))
    used = state["subgoal_steps"] + len(states)
    if not states and not world.holds(subgoal):
        used = budgets.steps_for(subgoal)  # the executor gave up: stop this attempt
    return {"sim_state": world.state().tolist(), "sim_warmstart": world.warmstart(),
            "executor": res.executor.snapshot(),
            "traj_len": state["traj_len"] + len(states),
            "steps": base + len(states), "subgoal_steps": used,
            "subgoal_ms": state["subgoal_ms"] + (list(result.decision_ms) if result else []),
            "monitor_done": monitor.done, "avoid_start": start,
            "disturbed": list(dict.fromkeys(state["disturbed"] + hit))}


def verify(state: AgentState, config: RunnableConfig, *, res: Resources,
           scenes: Scenes) -> dict:
    """Judge the attempt on the true state; then next subgoal, a retry, a revision or the
    end. After a success, every push already done is checked too (`rules.with_restores`)."""
    budgets = res.budgets
    world = scenes.at(state)
    plan = subgoals(state["plan"])
    current = state["current"]
    subgoal = plan[current]
    ok = world.holds(subgoal)
    reason = ""
    if not ok and state["steps"] >= budgets.episode_steps:
        reason = f"episode step budget ({budgets.episode_steps}) exhausted"
    elif not ok:
        reason = f"not reached within {budgets.steps_for(subgoal)} steps; {where(world, subgoal)}"
    ms = state["subgoal_ms"]
    outcome = {"subgoal": subgoal.model_dump(), "success": ok, "steps": state["subgoal_steps"],
               "seconds": state["seconds"] - state["subgoal_seconds"],
               "attempt": state["attempt"], "reason": reason,
               "decision_ms_median": float(np.median(ms)) if ms else None}
    emit(ev.SubgoalDone(index=current, **outcome))
    out: dict = {"outcomes": [outcome], "subgoal_steps": 0, "subgoal_ms": [],
                 "subgoal_seconds": state["seconds"]}
    if ok:
        out.update(current=current + 1, attempt=1, feedback=None)
        new, restored = with_restores(plan, current, knocked_out(world, plan[: current + 1]),
                                      budgets.restores - state["restores"])
        if restored:
            out.update(plan=[x.model_dump() for x in new],
                       restores=state["restores"] + len(restored))
            emit(ev.PlanMade(out["plan"], revised=True, reason="knocked out of its zone: "
                             + "; ".join(x.text() for x in restored)))
    elif state["steps"] >= budgets.episode_steps:
        out.update(status="failed", reason=reason)
    elif state["attempt"] <= budgets.retries:
        out.update(attempt=state["attempt"] + 1)
    elif res.decomposer is not None and state["revisions"] < budgets.revisions:
        out.update(feedback=f"'{subgoal.text()}' failed: {reason}", feedback_from="execution")
    else:
        why = "no revisions left" if res.decomposer is not None else "no LLM to revise"
        out.update(status="failed", reason=f"'{subgoal.text()}' failed ({reason}); {why}")
    return out


def revise(state: AgentState, config: RunnableConfig, *, res: Resources,
           scenes: Scenes) -> dict:
    assert res.decomposer is not None
    plan = subgoals(state["plan"])
    current = state["current"]
    done, failed = plan[:current], plan[current]
    feedback = state["feedback"] or ""
    emit(ev.Revision(feedback, failed.model_dump()))
    d = res.decomposer.revise(scenes.describe(state), state["instruction"], done, failed,
                              feedback)
    # Vetoes from imagination have their own budget; revisions count real failures.
    real = state["feedback_from"] == "execution"
    out = {**usage_update(state, d.usage), "feedback": None, "feedback_from": None,
           "revisions": state["revisions"] + (1 if real else 0)}
    if (d.plan is None or not d.plan.subgoals) and real:
        why = d.question or "; ".join(d.problems) or "no usable plan"
        return {**out, "status": "failed", "reason": f"revision failed: {why}"}
    proposed = list(d.plan.subgoals) if d.plan is not None else []
    kept, notes = merge_revision(plan[current:], proposed, after_failure=real)
    new = [s.model_dump() for s in done + kept]
    # imagining is deterministic: the same plan from the same state would be foreseen the
    # same, so a vetoed plan kept as it was is acted on without imagining it again
    stands = not real and new == state["plan"]
    emit(ev.PlanMade(new, revised=True, reason="; ".join(notes), unchanged=stands))
    return {**out, "plan": new, "attempt": 1, "subgoal_steps": 0, "subgoal_ms": [],
            "verdict_stands": stands}


def report(state: AgentState, config: RunnableConfig, *, scenes: Scenes) -> dict:
    world = scenes.at(state)
    monitor = TaskMonitor(world.layout, judged(state), start=state["start_state"])
    monitor.done = state["monitor_done"]
    if not state["ground_truth"]:  # judged on its own plan: the verified subgoals
        monitor.done = state["current"]
    now = world.state()
    effects = monitor.side_effects(now)
    success = (state["status"] == "running" and monitor.success(now)
               and not state["disturbed"])
    status = state["status"]
    if status == "running":
        status = "done" if success else "failed"
    reason = state["reason"]
    if status == "failed" and not reason:
        if state["disturbed"]:
            reason = "it disturbed what it was asked to avoid: the " + ", the ".join(
                state["disturbed"])
        elif effects and monitor.consequences:
            reason = "side effect: " + "; ".join(e.text() for e in effects)
        else:
            reason = "a pushed block left its zone" if monitor.done == len(
                monitor.subgoals) else "not every subgoal was achieved"
    holds = [{"subgoal": sg.model_dump(), "text": sg.text(), "holds": bool(world.holds(sg, now))}
             for sg in judged(state)]
    emit(ev.Report(status, success, holds, list(state["disturbed"]),
                   [e.text() for e in effects]))
    return {"status": status, "reason": reason, "monitor_done": monitor.done, "holds": holds,
            "side_effects": [e.record() for e in effects]}


