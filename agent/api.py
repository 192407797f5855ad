"""The Python API: `agent.kinds.registry.make_agent("hybrid").run(scenario, instruction,
seed=...)` returns an `EpisodeRecord`; `resume(thread_id)` continues a stopped run."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from langgraph.types import Command

from agent.graph.budgets import Budgets
from agent.graph.builder import build_graph
from agent.graph.contracts import Resources
from agent.graph.events import Event
from agent.graph.state import initial_state
from agent.llm.base import LLMError
from agent.runs.overlay import episode_frames
from agent.runs.records import EpisodeRecord, SubgoalOutcome
from agent.runs.store import RunStore
from scenarios.registry import get
from scenarios.subgoals import Subgoal
from scenarios.video import write_video
from scenarios.world import World

EventHandler = Callable[[Event], None]
ENDED = ("answered", "declined", "stopped")
"""statuses of a run that replied and moved nothing"""
AnswerFn = Callable[[str], str]


@dataclass
class Agent:
    """An agent kind bound to its resources and a run store."""

    kind: str
    resources: Resources
    store: RunStore = field(default_factory=RunStore)
    llm_name: str = ""
    world_model_name: str = ""
    obs: str = "state"
    """what the world model reads (state or pixels): kept with each run, so a resume reads
    the same"""
    needs_ground_truth: bool = False
    video_size: int = 256

    @property
    def budgets(self) -> Budgets:
        return self.resources.budgets

    def __post_init__(self):
        self.graph = build_graph(self.resources, self.store.checkpointer())
        self.resources.trajectory = self.store.append_trajectory

    # --- running --------------------------------------------------------------------------

    def _check_models(self, scenario: str) -> None:
        """A missing world model is an error before anything is asked or moved (else a run
        from pixels in a family with no pixel model asked its questions first)."""
        shelf = getattr(self.resources.executor, "models", None)
        if shelf is not None and getattr(self.resources.executor, "planner", "") != "sim":
            shelf.check(scenario)
    def run(self, scenario: str, instruction: str, seed: int = 0,
            subgoals: list[Subgoal | dict] | None = None, video: str | Path | None = None,
            thread_id: str | None = None, on_event: EventHandler | None = None,
            answer: AnswerFn | None = None,
            start_state: list[float] | np.ndarray | None = None) -> EpisodeRecord:
        """Run one episode; `subgoals` is the ground truth (required by oracle agents).

        A clarification question is passed to `answer`; without it the run stops with status
        `needs_clarification` and `resume(thread_id, answer=...)` continues it.
        `start_state` (a state vector of the scene, e.g. where the last episode ended)
        replaces the layout's start state.
        """
        get(scenario)
        check_instruction(instruction, needed=not self.needs_ground_truth)
        self._check_models(scenario)
        if not 0 <= int(seed) < 2**63:
            raise ValueError(f"seed {seed} is out of range: use 0 to 2**63 - 1")
        if self.needs_ground_truth and not subgoals:
            raise ValueError(f"the {self.kind} agent needs the ground-truth subgoals: pass "
                             "subgoals=[...] (on the command line, --subgoals)")
        thread_id = thread_id or uuid.uuid4().hex[:12]
        if self.store.run_info(thread_id) is not None:
            raise ValueError(f"thread {thread_id} already exists; resume it or pick another id")
        gt = [Subgoal.model_validate(s).model_dump() for s in subgoals] if subgoals else None
        sim_state = (self._checked_state(scenario, int(seed), start_state)
                     if start_state is not None else None)
        inputs = initial_state(scenario, int(seed), instruction, gt,
                               gt if self.needs_ground_truth else None, sim_state)
        self.store.save_run(thread_id, self.kind, scenario, int(seed), instruction, "running",
                            obs=self.obs)
        return self._drive(thread_id, inputs, on_event, answer, video)

    def resume(self, thread_id: str, answer: str | AnswerFn | None = None,
               on_event: EventHandler | None = None,
               video: str | Path | None = None) -> EpisodeRecord:
        """Continue a run from its last checkpoint (after a crash, or with an answer)."""
        info = self.store.run_info(thread_id)
        if info is None:
            raise ValueError(f"no run with thread id {thread_id!r}; `wmagent runs` lists them")
        if info["agent"] != self.kind:
            raise ValueError(f"thread {thread_id} was run by the {info['agent']} agent; "
                             f"resume it with --agent {info['agent']}")
        snapshot = self.graph.get_state(self._config(thread_id))
        if snapshot.values and snapshot.values["status"] in ("done", "failed", *ENDED):
            return self.record(thread_id, video)
        inputs: Any = None
        answer_fn = answer if callable(answer) else None
        self.store.mark_running(thread_id)
        if snapshot.interrupts:
            if answer is None:
                return self.record(thread_id, video)
            if isinstance(answer, str):
                inputs = Command(resume=answer)
            else:
                inputs = Command(resume=answer(snapshot.interrupts[0].value["question"]))
        return self._drive(thread_id, inputs, on_event, answer_fn, video)

    def _checked_state(self, scenario: str, seed: int, state) -> list[float]:
        world = World(get(scenario).layout(seed))
        state = np.asarray(state, float)
        world.set_state(state)  # raises with the expected shape
        n = world.spec.n_dynamic
        if not np.allclose(state[n: n + world.static.size], world.static):
            raise ValueError(f"start_state belongs to another scene: its target and doorway "
                             f"centres differ from those of {scenario} seed {seed}")
        return state.tolist()

    def sim_state(self, thread_id: str) -> list[float] | None:
        """The true simulator state at the thread's last checkpoint (None before one)."""
        values = self.graph.get_state(self._config(thread_id)).values
        return values["sim_state"] if values else None

    def _config(self, thread_id: str) -> dict:
        return {"configurable": {"thread_id": thread_id},
                "recursion_limit": self.resources.budgets.recursion_limit()}

    def _drive(self, thread_id: str, inputs: Any, on_event: EventHandler | None,
               answer: AnswerFn | None, video: str | Path | None) -> EpisodeRecord:
        config = self._config(thread_id)
        try:
            while True:
                question = None
                # "sync": each checkpoint is on disk before the next step starts, so a killed
                # process loses at most the step it was in.
                for mode, chunk in self.graph.stream(inputs, config, durability="sync",
                                                     stream_mode=["custom", "updates"]):
                    if mode == "custom" and on_event:
                        on_event(chunk)
                    elif mode == "updates" and "__interrupt__" in chunk:
                        question = chunk["__interrupt__"][0].value["question"]
                if question is None or answer is None:
                    break
                inputs = Command(resume=answer(question))
            return self.record(thread_id, video)
        except LLMError as e:
            raise LLMError(f"{e}; nothing is lost: `wmagent run --resume {thread_id}` "
                           "continues this run") from None
        finally:  # stopped or failed here: the row reads `interrupted` until resumed
            self.store.release(thread_id)

    # --- results --------------------------------------------------------------------------
    def record(self, thread_id: str, video: str | Path | None = None) -> EpisodeRecord:
        """The episode record of a thread, from its last checkpoint."""
        snapshot = self.graph.get_state(self._config(thread_id))
        s = snapshot.values
        if not s:
            raise ValueError(f"thread {thread_id} has no checkpoint yet")
        status = s["status"]
        question = None
        if snapshot.interrupts:
            status, question = "needs_clarification", snapshot.interrupts[0].value["question"]
        elif status == "running":  # the process stopped before the report: resumable
            status = "interrupted"
        truth = subgoals_of(s["ground_truth"])
        ms = [o["decision_ms_median"] for o in s["outcomes"]
              if o["decision_ms_median"] is not None]
        rec = EpisodeRecord(
            agent=self.kind, scenario=s["scenario"], seed=s["seed"],
            instruction=s["instruction"], thread_id=thread_id, status=status,
            reason=s["reason"], question=question, reply=s["reply"], avoid=s["avoid"],
            disturbed=s["disturbed"], holds=s["holds"], side_effects=s["side_effects"],
            plan=subgoals_of(s["plan"]),
            ground_truth=truth,
            plan_exact=None if truth is None else s["first_plan"] == s["ground_truth"],
            outcomes=[SubgoalOutcome.model_validate(o) for o in s["outcomes"]],
            subgoals_total=len(s["ground_truth"] or s["plan"]),
            subgoals_done=s["monitor_done"], success=status == "done", steps=s["steps"],
            seconds=s["seconds"], llm_calls=s["llm_calls"], prompt_tokens=s["prompt_tokens"],
            completion_tokens=s["completion_tokens"], llm_seconds=s["llm_seconds"],
            decision_ms_median=float(np.median(ms)) if ms else None,
            revisions=s["revisions"], imagination=s["imagination"],
            foresight=s.get("foresight", []),
            llm=self.llm_name, world_model=self.world_model_name,
        )
        if video and status in ("done", "failed"):
            rec.video = str(self.write_video(thread_id, video, s["scenario"], s["seed"]))
        if status in ("done", "failed", "needs_clarification", *ENDED):
            self.store.save_run(thread_id, self.kind, rec.scenario, rec.seed, rec.instruction,
                                status, rec.model_dump(mode="json"), obs=self.obs)
        return rec

    def write_video(self, thread_id: str, path: str | Path, scenario: str, seed: int) -> Path:
        """Render the thread's recorded true-state trajectory to a video file, with what the
        world model imagined drawn over it (`agent.runs.overlay`)."""
        world = World(get(scenario).layout(seed))
        values = self.graph.get_state(self._config(thread_id)).values or {}
        frames = episode_frames(world, self.store.trajectory(thread_id), values,
                                self.video_size)
        world.close()
        return write_video(frames, path)


MAX_INSTRUCTION = 2000
"""characters: longer instructions are refused before the LLM sees them (a served model
has `max_model_len` 2,048 tokens by default, and the prompt already holds the scene)"""


def check_instruction(instruction: str, needed: bool = True) -> None:
    """Refuse, before anything is stored or run, an instruction that is blank (when `needed`)
    or longer than `MAX_INSTRUCTION` characters."""
    if needed and not instruction.strip():
        raise ValueError("the instruction is empty: say what the agent should do, e.g. "
                         "'push the red block into the blue zone'")
    if len(instruction) > MAX_INSTRUCTION:
        raise ValueError(f"the instruction has {len(instruction):,} characters; the limit is "
                         f"{MAX_INSTRUCTION:,}: say it in fewer words, one goal at a time")


def subgoals_of(items: list[dict] | None) -> list[Subgoal] | None:
    """Checkpointed subgoal dicts as subgoals; None for none."""
    return [Subgoal.model_validate(x) for x in items] if items else None
