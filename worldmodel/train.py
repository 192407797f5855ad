"""`wmagent train`: read or collect the episodes, fit a world model, write its checkpoint.

The scenes' collections (collected first when missing) and any env's datasets
(`worldmodel.datasets`) end up as `Episodes` for `worldmodel.fit.fit`. `train(..., procs=N)`
starts N processes on this machine (gloo on CPUs, NCCL on GPUs, one GPU each); under
`torchrun` the process group it describes is joined instead.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import torch

from scenarios.collect import CollectConfig, collect, load
from scenarios.world import world_for
from worldmodel import checkpoint
from worldmodel.config import ModelConfig, TrainConfig
from worldmodel.data import Episodes
from worldmodel.datasets import Dataset, read
from worldmodel.envs import EnvLayout, make
from worldmodel.fit import (  # noqa: F401  (losses, evaluate: their home before issue 17)
    device_of_process,
    evaluate,
    fit,
    leave_process_group,
    losses,
    process,
    seed_everything,
)
from worldmodel.model import WorldModel


def load_episodes(mc: ModelConfig, tc: TrainConfig, data: Path | None, out: Path,
                  device: str) -> Episodes:
    """Read the collection in `data` (default OUT/data), collecting it first if it is not there.

    Collection is seeded, so the same settings always give the same episodes.
    """
    data = out / "data" if data is None else Path(data)
    if not (data / "dataset.json").exists() or _unfinished(data):
        collect(CollectConfig(mc.scenario, tc.episodes, steps=tc.episode_steps, seed=tc.seed,
                              pixels=mc.image_size if mc.obs == "pixels" else 0), data)
    manifest, arrays = load(data)
    if manifest["config"]["scenario"] != mc.scenario:
        raise ValueError(f"{data} holds {manifest['config']['scenario']!r} episodes, not "
                         f"{mc.scenario!r}; pass --data for a {mc.scenario} collection")
    if mc.obs == "pixels" and manifest["config"]["pixels"] != mc.image_size:
        raise ValueError(f"{data} holds {manifest['config']['pixels']}px frames but the model "
                         f"reads {mc.image_size}px; collect with --pixels {mc.image_size}")
    return Episodes.from_arrays(arrays, device, with_pixels=mc.obs == "pixels")


def _unfinished(data: Path) -> bool:
    m = json.loads((data / "dataset.json").read_text())
    return sum(s["episodes"] for s in m["shards"]) < m["config"]["episodes"]


def model_config_for(scenario: str, obs: str, objective: str, **overrides) -> ModelConfig:
    """A model config whose state sizes and layout come from the scenario's StateSpec."""
    spec = world_for(scenario, 0).spec

    def dims(suffix: str) -> tuple[int, ...]:
        return tuple(i for f in spec.fields if f.name.endswith(suffix)
                     for i in range(f.start, f.stop))

    agent_vel = tuple(range(spec["agent.vel"].start, spec["agent.vel"].stop))
    return ModelConfig(scenario=scenario, obs=obs, objective=objective, state_dim=spec.dim,
                       n_dynamic=spec.n_dynamic, position_dims=dims(".pos"),
                       velocity_dims=dims(".vel"),
                       goal_velocity_dims=agent_vel if obs == "state" else (), **overrides)


def train(mc: ModelConfig, tc: TrainConfig, out: str | os.PathLike, data: Path | None = None,
          name: str = "model", resume: bool = False, command: str = "",
          progress: Callable[[int, dict], None] | None = None,
          episodes: Episodes | None = None, procs: int = 1) -> dict:
    """Train a world model into OUT/NAME.{safetensors,json}; returns the final metrics.

    The episodes are `episodes` (in memory) or else the scene collection in `data` (collected
    first when missing, see `load_episodes`). `progress(step, metrics)` is called after every
    step. With `resume`, training continues from OUT/NAME.resume.pt when it exists. `procs`
    > 1 starts that many processes on this machine (gloo on CPUs, NCCL on GPUs, one GPU each);
    under `torchrun` the process group it sets up is used instead.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if procs > 1:
        if episodes is None:
            episodes = load_episodes(mc, tc, data, out, "cpu")
        return _spawn(procs, mc, tc, out, name, resume, command, episodes)
    joined = _join_torchrun()
    rank, world = process()
    device = device_of_process()
    gen = seed_everything(tc.seed)
    if episodes is None:
        if rank:  # rank 0 collects what is missing; the others read it afterwards
            torch.distributed.barrier()
        episodes = load_episodes(mc, tc, data, out, device)
        if world > 1 and not rank:
            torch.distributed.barrier()
    episodes = episodes.to(device)
    model = WorldModel(mc).to(device)
    final = fit(model, episodes, tc, out, name, resume, progress, gen)
    if rank == 0:
        steps = final.pop("steps_done")
        checkpoint.save(model.cpu(), out / name, {"command": command,
                                                  "train_config": tc.to_dict(),
                                                  "metrics": final, "steps_done": steps,
                                                  "processes": world})
    if joined:
        leave_process_group()
    return final


def _join_torchrun() -> bool:
    """Join the process group `torchrun` describes in the environment; True if joined here."""
    if int(os.environ.get("WORLD_SIZE", "1")) < 2 or torch.distributed.is_initialized():
        return False
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    torch.distributed.init_process_group(backend)
    return True


def _spawn(procs: int, mc: ModelConfig, tc: TrainConfig, out: Path, name: str, resume: bool,
           command: str, episodes: Episodes) -> dict:
    """Run `train` in `procs` processes on this machine; returns rank 0's final metrics."""
    import socket

    import torch.multiprocessing as mp

    with socket.socket() as s:  # a free port for the rendezvous
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(_worker, args=(procs, port, mc, tc, out, name, resume, command, episodes),
             nprocs=procs, join=True)
    return checkpoint.read_info(out / name)["metrics"]


def _worker(rank: int, procs: int, port: int, mc: ModelConfig, tc: TrainConfig, out: Path,
            name: str, resume: bool, command: str, episodes: Episodes) -> None:
    os.environ |= {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "RANK": str(rank),
                   "LOCAL_RANK": str(rank), "WORLD_SIZE": str(procs)}
    # One machine: gloo over the loopback, whatever the hostname resolves to.
    os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    train(mc, tc, out, name=name, resume=resume, command=command, episodes=episodes)


def model_config_for_data(name: str, dataset: Dataset, **overrides) -> ModelConfig:
    """A state model config for a `worldmodel.datasets.Dataset`: sizes from its episodes,
    action bounds and layout from what the data (or its env) declares."""
    eps, layout = dataset.episodes, dataset.layout
    if overrides.get("obs") == "pixels":
        if eps.pixels is None:
            raise ValueError("these episodes hold no frames; collect them with `wmagent collect "
                             "--env ENV_ID --pixels 48`, or train on the vectors (--obs state)")
        overrides.setdefault("image_size", int(eps.pixels.shape[1]))
        overrides.setdefault("encoder", "keypoints")
        if overrides["image_size"] != eps.pixels.shape[1]:
            raise ValueError(f"image_size={overrides['image_size']}, but the frames are "
                             f"{eps.pixels.shape[1]} pixels a side; drop --image-size or "
                             "collect at that size")
    return ModelConfig(scenario=name, state_dim=eps.states.shape[1],
                       n_dynamic=eps.states.shape[1], action_dim=eps.actions.shape[1],
                       action_low=tuple(dataset.action_low), action_high=tuple(dataset.action_high),
                       position_dims=layout.position_dims, velocity_dims=layout.velocity_dims,
                       goal_velocity_dims=layout.goal_velocity_dims, **overrides)


def train_env(env_id: str, data: str | os.PathLike, out: str | os.PathLike, tc: TrainConfig,
              obs_key: str | None = None, name: str = "model", procs: int = 1,
              command: str = "", progress: Callable[[int, dict], None] | None = None,
              **overrides) -> dict:
    """What `wmagent train --env` does: read the episodes in `data` (any format
    `worldmodel.datasets.read` knows), build the model config, train into OUT/NAME."""
    dataset = read(data, obs_key)
    # A Minari file names the registered id, without the `module:` that imports it.
    if dataset.env_id and dataset.env_id.split(":")[-1] != env_id.split(":")[-1]:
        raise ValueError(f"{data} was collected from {dataset.env_id!r}, not {env_id!r}; pass "
                         f"--env {dataset.env_id} or other data")
    if not dataset.action_low or dataset.layout == EnvLayout():
        env, _ = make(env_id, obs_key)  # the env knows its bounds and may declare a layout
        if not dataset.action_low:
            dataset.action_low = tuple(float(x) for x in env.action_space.low)
            dataset.action_high = tuple(float(x) for x in env.action_space.high)
        if dataset.layout == EnvLayout():
            dataset.layout = EnvLayout.from_env(env, env_id)
        env.close()
    mc = model_config_for_data(env_id, dataset, **overrides)
    return train(mc, tc, out, name=name, command=command, progress=progress,
                 episodes=dataset.episodes, procs=procs)
