"""Fake agents for the evaluation tests: no MuJoCo, no LLM, deterministic by seed.

`factory(kind, llm, home)` is module-level so that spawned worker processes can import it.
Every build and every run appends a line to `home/calls.jsonl` (shared by all processes).
"""

import json
import os
import time
from pathlib import Path

from agent.runs.records import EpisodeRecord
from scenarios.subgoals import Subgoal


def _log(home: Path, **entry) -> None:
    home.mkdir(parents=True, exist_ok=True)
    with open(home / "calls.jsonl", "a") as f:
        f.write(json.dumps({"pid": os.getpid(), **entry}) + "\n")


class FakeAgent:
    """llm-only: right plan on even seeds; wm-only: no plan, raises on seeds = 1 mod 4;
    hybrid: the process dies (os._exit) on seed $FAKE_DIE_SEED, else succeeds in 0.1 s."""

    def __init__(self, kind: str, home: Path):
        self.kind, self.home = kind, Path(home)
        _log(self.home, event="build", agent=kind)

    def run(self, scenario, instruction, seed=0, subgoals=None, **_):
        gt = [Subgoal.model_validate(s) for s in subgoals] if subgoals else None
        _log(self.home, event="run", agent=self.kind, scenario=scenario, seed=seed,
             instruction=instruction, subgoals=[s.model_dump() for s in gt or []])
        plan, exact, ok = None, None, True
        if self.kind == "llm-only":
            exact = seed % 2 == 0
            plan = gt if exact else list(reversed(gt)) + gt
            ok = exact
        elif self.kind == "wm-only" and seed % 4 == 1:
            raise RuntimeError(f"boom on seed {seed}")
        elif self.kind == "hybrid" and seed == int(os.environ.get("FAKE_DIE_SEED", "-1")):
            os._exit(3)
        elif self.kind == "hybrid":
            time.sleep(0.1)  # still running when a neighbour dies
        n = len(gt or [])
        return EpisodeRecord(
            agent=self.kind, scenario=scenario, seed=seed, instruction=instruction,
            thread_id=f"{self.kind}-{seed}", status="done" if ok else "failed", plan=plan,
            ground_truth=gt, plan_exact=exact, subgoals_total=n, subgoals_done=n if ok else 0,
            success=ok, steps=10 + seed % 7, seconds=0.5, llm_calls=int(plan is not None),
            prompt_tokens=100 * int(plan is not None), completion_tokens=20 * int(
                plan is not None), decision_ms_median=20.0, llm="fake-llm" if plan else "",
            world_model="fake-wm")


def factory(kind, llm, home, **settings):
    """Fakes, except oracle-script: the real agent (real MuJoCo episodes). `settings` (obs)
    are logged with the build."""
    if settings:
        _log(Path(home), event="settings", agent=kind, **settings)
    if kind == "oracle-script":
        from agent.evaluation.runner import default_factory

        return default_factory(kind, llm, home)
    if kind == "oracle-sim":
        raise RuntimeError("no world model checkpoint here")
    return FakeAgent(kind, home)


def calls(home: Path, event: str = "run") -> list[dict]:
    path = Path(home) / "calls.jsonl"
    if not path.exists():
        return []
    return [e for e in map(json.loads, path.read_text().splitlines()) if e["event"] == event]
