"""Test-only services for `wmagent chat`: no live LLM, no trained world model.

Point the chat at them with `WMAGENT_CHAT_FACTORY=chat_fakes:services` (this directory on
PYTHONPATH) and `--llm scripted:FILE`, FILE being a JSON list of queued answers: a list of
subgoal dicts is a plan, a string is a clarification question. The executor is the scripted
skills, slowed down by `$CHAT_TEST_STEP_SECONDS` per control step so that a test can press
Ctrl-C or kill the process mid-episode; the imaginer runs the scripted skill in a copy of the
scene (a stand-in for the world model's prediction, for tests only).
"""

import json
import os
import time
from pathlib import Path

import numpy as np
from fakes import FakeUsage, QueuedDecomposer

from agent.api import Agent
from agent.chat.session import ChatServices
from agent.graph.contracts import Resources
from agent.runs.store import RunStore
from scenarios import World
from scenarios.skills import run_skill
from tools.acting import ScriptedExecutor
from tools.imagination import Imagination


class FileDecomposer(QueuedDecomposer):
    """Queued answers from a JSON file; describes itself as an LLM backend would."""

    name = "scripted"

    def __init__(self, path: Path):
        super().__init__(json.loads(path.read_text()))
        self.path = path

    def _next(self):
        if not self.answers:
            raise ValueError(f"the scripted LLM has no answers left in {self.path}")
        d = super()._next()
        d.usage = FakeUsage(prompt_tokens=120, completion_tokens=30, seconds=0.01)
        return d

    def describe(self) -> str:
        return f"scripted test LLM ({len(self.answers)} answers queued in {self.path.name})"

    def health(self) -> str:
        if not self.answers:
            raise ValueError("no answers left; queue more in the answers file")
        return "ok"


class SlowExecutor(ScriptedExecutor):
    def __init__(self, seconds: float):
        self.seconds = seconds

    def run(self, world, subgoal, max_steps, on_step, avoid=()):
        def slow(info):
            time.sleep(self.seconds)
            on_step(info)
        return super().run(world, subgoal, max_steps, slow)


class SkillImaginer:
    """Predicts by running the scripted skill in a copy of the scene (tests only)."""

    def imagine(self, world: World, state: np.ndarray, subgoal, avoid=()) -> Imagination:
        copy = World(world.layout)
        copy.set_state(np.asarray(state))
        ok, states, _ = run_skill(copy, subgoal, max_steps=150)
        copy.close()
        return Imagination(bool(ok), "" if ok else "the skill ran out of steps",
                           states[-1].tolist(), len(states) - 1)


def services(llm, home) -> ChatServices:
    if not llm or not llm.startswith("scripted:"):
        raise ValueError("the test chat factory needs --llm scripted:FILE")
    decomposer = FileDecomposer(Path(llm.split(":", 1)[1]))
    executor = SlowExecutor(float(os.environ.get("CHAT_TEST_STEP_SECONDS", "0")))
    agent = Agent("hybrid", Resources(executor=executor, decomposer=decomposer,
                                      imaginer=SkillImaginer()),
                  store=RunStore(home), world_model_name="scripted skills (test)")
    return ChatServices(agent)
