"""`wmagent train` and `wmagent plan`: train a world model, plan one subgoal with it; with
`--env`, train on any Gymnasium env's episodes and measure goal-reaching in it (and
`wmagent collect --env`, which agent/cli/scenarios.py hands over here)."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from agent.cli.limits import MAX_SEED

console = Console()


def train(
    scenario: Annotated[str | None, typer.Argument(help="Scenario family (`wmagent scenarios "
                                                   "list`), or --env.")] = None,
    out: Annotated[Path | None, typer.Option(help="Checkpoint and metrics directory.")] = None,
    obs: Annotated[str, typer.Option(help="Observation: state or pixels.")] = "state",
    objective: Annotated[str, typer.Option(help="jepa or reconstruction.")] = "jepa",
    data: Annotated[Path | None, typer.Option(help="Collection directory, collected into first "
                                              "if empty; default OUT/data.")] = None,
    name: Annotated[str, typer.Option(help="Checkpoint name: OUT/NAME.safetensors.")] = "model",
    steps: Annotated[int, typer.Option(min=1, help="Optimiser steps.")] = 3000,
    batch: Annotated[int, typer.Option(min=1, help="Windows per batch.")] = 256,
    episodes: Annotated[int, typer.Option(min=1, help="Episodes to collect into DATA.")] = 3000,
    episode_steps: Annotated[int, typer.Option(min=1, help="Steps per collected episode.")] = 100,
    image_size: Annotated[int, typer.Option(help="Frame side in pixel mode.")] = 48,
    encoder: Annotated[str, typer.Option(help="Pixel encoder: keypoints (spatial softmax), "
                                         "cnn (the first pixel models), or MODULE:CALLABLE, a "
                                         "backbone of your own (frozen unless --tune-backbone)."
                                         )] = "keypoints",
    tune_backbone: Annotated[bool, typer.Option(help="--encoder MODULE:CALLABLE: train the "
                                                "backbone's weights too.")] = False,
    frames: Annotated[int, typer.Option(min=1, max=4, help="Pixels: frames stacked per "
                                        "observation, one latent step apart.")] = 2,
    motion: Annotated[bool, typer.Option(help="Pixels: read frame differences too.")] = False,
    sharpness: Annotated[float, typer.Option(help="Keypoints: softmax sharpness.")] = 1.0,
    rest_fraction: Annotated[float, typer.Option(help="Share of windows at rest.")] = 0.0,
    idm_weight: Annotated[float, typer.Option(help="Weight of the inverse-dynamics term "
                                              "(pixels: 1.0).")] = 0.0,
    mask_weight: Annotated[float, typer.Option(help="Pixels: weight of the masked-frame "
                                               "term (I-JEPA style).")] = 0.0,
    pretrain_steps: Annotated[int, typer.Option(min=0, help="Pixels: first steps on the "
                                                "masked-frame term alone.")] = 0,
    seed: Annotated[int, typer.Option(min=0, max=MAX_SEED, help="Seed of it all.")] = 0,
    resume: Annotated[bool, typer.Option(help="Continue from OUT/NAME.resume.pt.")] = False,
    env: Annotated[str | None, typer.Option(help="A Gymnasium env id; --data: its episodes "
                                            "(collect --env, minari:ID, HDF5).")] = None,
    procs: Annotated[int, typer.Option(min=1, help="Processes (DDP; one GPU each).")] = 1,
    obs_key: Annotated[str | None, typer.Option(help="--env: a Dict observation's key.")] = None,
    chunk: Annotated[int, typer.Option(min=1, help="--env: control steps per chunk.")] = 5,
) -> None:
    """Train a world model (JEPA + SIGReg, or a reconstruction baseline) on collected episodes."""
    from worldmodel.config import TrainConfig
    from worldmodel.train import model_config_for

    if out is None:
        raise ValueError("give --out DIR for the checkpoint and metrics")
    px = _pixel_fields(obs, encoder, frames, tune_backbone, motion, sharpness)
    tc = TrainConfig(steps=steps, batch=batch, episodes=episodes, episode_steps=episode_steps,
                     rest_fraction=rest_fraction, idm_weight=idm_weight, seed=seed,
                     mask_weight=mask_weight, pretrain_steps=pretrain_steps)
    if env is not None or scenario is None:
        if env is None or data is None:
            raise ValueError("name a scenario, or a Gymnasium env with --env ENV_ID and its "
                             "episodes with --data (`wmagent collect --env ENV_ID`)")
        if px:
            px["obs"] = "pixels"
        if obs == "pixels" and image_size != 48:
            px["image_size"] = image_size
        return train_env(env, data, out, name, tc, procs, obs_key, chunk, px)
    mc = model_config_for(scenario, obs, objective, image_size=image_size, **px)
    _fit_with_progress(mc, tc, out, data, name, resume, procs)


def _pixel_fields(obs: str, encoder: str, frames: int, tune_backbone: bool,
                  motion: bool = False, sharpness: float = 1.0) -> dict:
    """The model config's pixel fields that `wmagent train` sets (none for a state model)."""
    if obs != "pixels":
        if motion or sharpness != 1.0:
            raise ValueError("--motion and --sharpness are for pixel models: add --obs pixels")
        return {}
    px = {"encoder": encoder, "frames": frames}
    if motion:
        px["motion"] = True
    if sharpness != 1.0:
        px["sharpness"] = sharpness
    if ":" in encoder:
        px["freeze_backbone"] = not tune_backbone
    return px


def _fit_with_progress(mc, tc, out: Path, data: Path | None, name: str, resume: bool,
                       procs: int) -> None:
    """`worldmodel.train.train` with a progress bar and a closing line."""
    from worldmodel.train import train as run_train

    command = "wmagent " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    with Progress(TextColumn("train {task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[info]}"), TimeRemainingColumn(), console=console) as bar:
        task = bar.add_task(f"{mc.scenario}/{mc.obs}/{mc.objective}", total=tc.steps, info="")

        def progress(step: int, row: dict) -> None:
            info = f"loss {row['loss']:.3f}" if "loss" in row else ""
            if "eff_rank" in row:
                info += f" rank {row['eff_rank']:.1f} probe {row['probe_rmse'] * 100:.1f}cm"
            bar.update(task, completed=step, info=info)

        final = run_train(mc, tc, out, data=data, name=name, resume=resume, command=command,
                          progress=progress if procs == 1 else None, procs=procs)
    if final:  # empty in torchrun's processes other than rank 0: rank 0 reports
        console.print(f"wrote {out / name}.safetensors in {final['train_seconds']:.0f} s: "
                      f"probe {final['probe_rmse'] * 100:.1f} cm, rank {final['eff_rank']:.1f}, "
                      f"1-step error {final['pred_err_h1']:.3f}")


def plan(
    scenario: Annotated[str | None, typer.Argument(help="Scenario family, or --env.")] = None,
    subgoal: Annotated[str | None, typer.Option(help="e.g. 'push red block to green zone'.")]
    = None,
    seed: Annotated[int | None, typer.Option(
        min=0, max=MAX_SEED, help="Scene seed (default 0); --env: the first held-out seed "
                                  "(default 1,000,000, never collected from).")] = None,
    planner: Annotated[str, typer.Option(help="cem, mppi or sim.")] = "cem",
    obs: Annotated[str, typer.Option(help="Observation of the packaged model: state or pixels.")]
    = "state",
    checkpoint: Annotated[Path | None, typer.Option(help="A checkpoint instead of the packaged "
                                                    "one.")] = None,
    max_steps: Annotated[int, typer.Option(min=1, help="Control-step budget.")] = 300,
    video: Annotated[Path | None, typer.Option(help="Write an mp4/gif of the episode.")] = None,
    env: Annotated[str | None, typer.Option(help="A Gymnasium env id: measure goal-reaching "
                                            "on held-out seeds instead.")] = None,
    episodes: Annotated[int, typer.Option(min=1, help="--env: held-out episodes.")] = 100,
    offset: Annotated[int, typer.Option(min=1, help="--env: K, the goal is the observation "
                                        "K recorded steps after the start.")] = 25,
    budget: Annotated[int, typer.Option(min=1, help="--env: control steps allowed.")] = 50,
    policy: Annotated[str, typer.Option(help="--env: the policy whose actions make the goals "
                                        "(random or MODULE:CALLABLE).")] = "random",
    obs_key: Annotated[str | None, typer.Option(help="--env: entry of a Dict observation.")]
    = None,
    json_out: Annotated[bool, typer.Option("--json", help="--env: print the result as JSON.")]
    = False,
    landmarks: Annotated[Path | None, typer.Option(help="--env: episodes (any --data format) "
                                                   "whose observations route far goals; "
                                                   "default: plan flat.")] = None,
    pixels_key: Annotated[str | None, typer.Option(help="--env, a pixel model: its frames "
                                                   "are this Dict observation entry (default: "
                                                   "rendered).")] = None,
) -> None:
    """Plan and execute one subgoal in a seeded scene with the world model (or the simulator)."""
    from worldmodel.mpc import plan_episode
    from worldmodel.reach import EVAL_SEED

    if env is not None or scenario is None:
        if env is None or checkpoint is None:
            raise ValueError("name a scenario and --subgoal, or a Gymnasium env with --env "
                             "ENV_ID and --checkpoint DIR")
        return plan_env(env, checkpoint, episodes, offset, budget,
                        EVAL_SEED if seed is None else seed, policy, obs_key, json_out,
                        landmarks, pixels_key)
    seed = 0 if seed is None else seed
    if subgoal is None:
        raise ValueError("give the subgoal to plan with --subgoal, e.g. 'push red block to "
                         "green zone'")

    result = plan_episode(scenario, subgoal, seed, planner, obs, checkpoint, max_steps, video)
    verdict = "[green]reached[/]" if result.success else f"[red]failed[/] ({result.reason})"
    console.print(f"{subgoal!r} on {scenario} seed {seed} with {planner}: {verdict} in "
                  f"{result.steps} steps, median {result.median_ms:.1f} ms per decision"
                  + (f"; video {video}" if video else ""))


def imagine(
    subgoal: Annotated[str, typer.Argument(help="e.g. 'push the red block into the green "
                                                "zone'.")],
    scenario: Annotated[str, typer.Option(help="Scenario family.")] = "push",
    seed: Annotated[int, typer.Option(min=0, max=MAX_SEED, help="Scene seed.")] = 0,
    obs: Annotated[str, typer.Option(help="Packaged model: state or pixels.")] = "state",
    check: Annotated[bool, typer.Option(help="Also run it in MuJoCo and compare.")] = True,
    video: Annotated[Path | None, typer.Option(
        help="Write a video (.mp4 or .gif): with --check, the simulated run with the imagined "
             "positions drawn over it as rings; without, the imagined states.")] = None,
) -> None:
    """Ask the world model what a subgoal will do, without simulating; optionally compare."""
    import numpy as np
    import torch

    from scenarios import Subgoal, world_for
    from scenarios.video import annotate, write_video
    from worldmodel import load_packaged
    from worldmodel.imagine import imagine as run_imagine

    torch.set_num_threads(1)
    if video is not None and video.suffix.lower() not in (".mp4", ".gif"):
        raise ValueError(f"cannot write video {video}: use a .mp4 or .gif file name")
    world, goal = world_for(scenario, seed), Subgoal.parse(subgoal)
    model = load_packaged(scenario, obs)
    im = run_imagine(model, world.state(), goal, world)
    console.print(f"imagined: {im.describe(world)}")
    frames = []
    if video and not check:
        frames = [annotate(world.render(s, 256), world.layout, None,
                           f"imagined: {goal.text()}") for s in im.states]
    if check:
        true = [world.state()] + [world.step(a) for a in im.actions]
        if video:
            every = model.config.chunk
            frames = [annotate(world.render(s, 256), world.layout,
                               im.states[min(t // every, len(im.states) - 1)],
                               f"{goal.text()} - simulated; rings: imagined")
                      for t, s in enumerate(true)]
        s, n = world.state(), world.spec.n_dynamic
        err = np.abs(s[:n] - im.final_state[:n])[[i for i in range(n) if i % 4 < 2]].max()
        verdict = "holds" if world.holds(goal) else "does not hold"
        console.print(f"simulated the same actions: the subgoal {verdict}; largest position "
                      f"error of the prediction {err:.3f} m")
    if video:
        console.print(f"video: {write_video(frames, video)}")


# --- the same commands on any Gymnasium env (`--env`) ------------------------------------

def _bar(what: str) -> Progress:
    # On stderr: stdout carries `--json`.
    return Progress(TextColumn(what), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[info]}"), TimeRemainingColumn(),
                    console=Console(stderr=True))


def collect_env(env_id: str, episodes: int, out: Path, policy: str, seed: int,
                max_steps: int | None, obs_key: str | None, pixels: int | None = None,
                pixels_key: str | None = None) -> None:
    """Collect seeded episodes from `env_id` into OUT (resumable), with frames if `pixels`."""
    from worldmodel.envs import CollectSettings
    from worldmodel.envs import collect as run_collect

    settings = CollectSettings(env_id, episodes, policy, seed, max_steps, obs_key,
                               pixels=pixels, pixels_key=pixels_key)
    with _bar(f"collect {env_id}") as bar:
        task = bar.add_task("", total=episodes, info="")
        run_collect(settings, out, progress=lambda n, _: bar.update(task, completed=n))
    console.print(f"{episodes} episodes of {env_id} in {out}")


def train_env(env_id: str, data: Path, out: Path, name: str, tc, procs: int,
              obs_key: str | None, chunk: int, pixels: dict) -> None:
    """Train a world model on the episodes in DATA: on their vectors, or with `pixels` (the
    model config's pixel fields) on their frames."""
    from worldmodel.train import train_env as run_train_env

    steps = tc.steps
    command = "wmagent " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    with _bar(f"train {env_id}") as bar:
        task = bar.add_task("", total=steps, info="")

        def progress(step: int, row: dict) -> None:
            info = f"loss {row['loss']:.3f}" if "loss" in row else ""
            if "eff_rank" in row:
                info += f" rank {row['eff_rank']:.1f} probe {row['probe_rmse']:.3f}"
            bar.update(task, completed=step, info=info)

        final = run_train_env(env_id, data, out, tc, obs_key, name, procs, command,
                              progress if procs == 1 else None, chunk=chunk, **pixels)
    if not final:  # a process of torchrun's other than rank 0: rank 0 reports
        return
    console.print(f"wrote {out / name}.safetensors in {final['train_seconds']:.0f} s: "
                  f"rank {final['eff_rank']:.1f}, probe rmse {final['probe_rmse']:.3f}, "
                  f"1-step error {final['pred_err_h1']:.3f}")


def plan_env(env_id: str, checkpoint: Path, episodes: int, offset: int, budget: int, seed: int,
             policy: str, obs_key: str | None, as_json: bool, landmarks: Path | None,
             pixels_key: str | None = None) -> None:
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
    if landmarks is not None and model.config.obs == "pixels":
        raise ValueError("--landmarks routes through observation vectors; a pixel model plans "
                         "flat: drop --landmarks, or use a state model")
    with _bar(f"plan {env_id}") as bar:
        task = bar.add_task("", total=episodes, info="")
        planner = None if landmarks is None else LandmarkPlanner(
            model, read(landmarks, obs_key).episodes)
        report = evaluate_goals(env_id, model, episodes, offset, budget, policy, seed, obs_key,
                                progress=lambda n, _: bar.update(task, completed=n),
                                planner=planner, pixels_key=pixels_key)
    if as_json:
        print(json.dumps(report.to_dict(), indent=1))
        return
    console.print(f"{env_id} K={offset}: {report.successes}/{report.episodes} reached "
                  f"({100 * report.success_rate:.0f}%, 95% CI {100 * report.ci_low:.0f}-"
                  f"{100 * report.ci_high:.0f}%), {report.mean_steps:.1f} steps on average, "
                  f"{report.ms_per_decision:.1f} ms per decision")


def register(app: typer.Typer) -> None:
    app.command("train")(train)
    app.command("plan")(plan)
    app.command("imagine")(imagine)
