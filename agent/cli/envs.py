"""`wmagent collect|train|plan --env ENV_ID`: the same commands on any Gymnasium env.

The scene commands (agent/cli/scenarios.py, agent/cli/worldmodel.py) hand over here when they
get `--env`; each function parses nothing more, calls the library and prints.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

console = Console()


def _bar(what: str) -> Progress:
    # On stderr: stdout carries `--json`.
    return Progress(TextColumn(what), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[info]}"), TimeRemainingColumn(),
                    console=Console(stderr=True))


def collect(env_id: str, episodes: int, out: Path, policy: str, seed: int,
            max_steps: int | None, obs_key: str | None) -> None:
    """Collect seeded episodes from `env_id` into OUT (resumable)."""
    from worldmodel.envs import CollectSettings
    from worldmodel.envs import collect as run_collect

    settings = CollectSettings(env_id, episodes, policy, seed, max_steps, obs_key)
    with _bar(f"collect {env_id}") as bar:
        task = bar.add_task("", total=episodes, info="")
        run_collect(settings, out, progress=lambda n, _: bar.update(task, completed=n))
    console.print(f"{episodes} episodes of {env_id} in {out}")


def train(env_id: str, data: Path, out: Path, name: str, steps: int, batch: int, seed: int,
          procs: int, obs_key: str | None, chunk: int) -> None:
    """Train a state world model on the episodes in DATA."""
    from worldmodel.config import TrainConfig
    from worldmodel.train import train_env

    tc = TrainConfig(steps=steps, batch=batch, seed=seed)
    command = "wmagent " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    with _bar(f"train {env_id}") as bar:
        task = bar.add_task("", total=steps, info="")

        def progress(step: int, row: dict) -> None:
            info = f"loss {row['loss']:.3f}" if "loss" in row else ""
            if "eff_rank" in row:
                info += f" rank {row['eff_rank']:.1f} probe {row['probe_rmse']:.3f}"
            bar.update(task, completed=step, info=info)

        final = train_env(env_id, data, out, tc, obs_key, name, procs, command,
                          progress if procs == 1 else None, chunk=chunk)
    if not final:  # a process of torchrun's other than rank 0: rank 0 reports
        return
    console.print(f"wrote {out / name}.safetensors in {final['train_seconds']:.0f} s: "
                  f"rank {final['eff_rank']:.1f}, probe rmse {final['probe_rmse']:.3f}, "
                  f"1-step error {final['pred_err_h1']:.3f}")


def plan(env_id: str, checkpoint: Path, episodes: int, offset: int, budget: int, seed: int,
         policy: str, obs_key: str | None, as_json: bool, landmarks: Path | None) -> None:
    """Goal-reaching success on held-out seeds; JSON or one line."""
    from worldmodel.checkpoint import load
    from worldmodel.datasets import read
    from worldmodel.landmarks import LandmarkPlanner
    from worldmodel.reach import evaluate_goals

    path = checkpoint / "model" if checkpoint.is_dir() else checkpoint
    model = load(path)
    if model.config.scenario != env_id:
        raise ValueError(f"checkpoint {path} was trained on {model.config.scenario!r}, not "
                         f"{env_id!r}")
    with _bar(f"plan {env_id}") as bar:
        task = bar.add_task("", total=episodes, info="")
        planner = None if landmarks is None else LandmarkPlanner(
            model, read(landmarks, obs_key).episodes)
        report = evaluate_goals(env_id, model, episodes, offset, budget, policy, seed, obs_key,
                                progress=lambda n, _: bar.update(task, completed=n),
                                planner=planner)
    if as_json:
        print(json.dumps(report.to_dict(), indent=1))
        return
    console.print(f"{env_id} K={offset}: {report.successes}/{report.episodes} reached "
                  f"({100 * report.success_rate:.0f}%, 95% CI {100 * report.ci_low:.0f}-"
                  f"{100 * report.ci_high:.0f}%), {report.mean_steps:.1f} steps on average, "
                  f"{report.ms_per_decision:.1f} ms per decision")
