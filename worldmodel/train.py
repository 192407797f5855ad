"""Training: JEPA (latent prediction + SIGReg) or reconstruction, with metrics and checkpoints.

JEPA loss on a window of H latent steps with embeddings z_0..z_H = encode(obs_0..obs_H):
  teacher-forced   mean_t |predict(z_t, a_t) - z_{t+1}|^2
  autoregressive   mean_t |rollout(z_0, a)_t - z_{t+1}|^2
  SIGReg           mean_t sigreg(z_t over the batch)      (the only anti-collapse term)
Reconstruction swaps the latent targets for observations: a decoder must reproduce obs_t from
z_t and obs_{t+1} from the predicted latents (teacher-forced and autoregressive), with no
latent-matching loss and no SIGReg. The state probe trains throughout on detached embeddings
(it never shapes the encoder), then once more on the final frozen encoder.

`fit(model, episodes, config)` trains on episodes in memory; `train(...)` is what `wmagent
train` runs: read or collect the episodes, fit, write the checkpoint. With `procs` > 1 (or
under `torchrun`) each process trains on its share of the global batch under
DistributedDataParallel, and SIGReg is computed over the global batch (its sums are
all-reduced), so N processes compute the loss and gradients of one process on the same batch.
"""

from __future__ import annotations

import json
import math
import os
import random
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch._dynamo  # noqa: F401  (see below)
import torch.nn.functional as F
from torch import nn

from worldmodel import checkpoint
from worldmodel.config import ModelConfig, TrainConfig
from worldmodel.data import Episodes
from worldmodel.model import WorldModel, mlp
from worldmodel.sigreg import sigreg

# torch._dynamo is imported above, before anything renders: the optimiser imports it lazily
# (and with it triton), which segfaulted here when MuJoCo's EGL context already existed.


def seed_everything(seed: int) -> torch.Generator:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def effective_rank(z: torch.Tensor) -> float:
    """exp(entropy) of the normalised singular values of centred z (N, D): 1 = collapsed."""
    s = torch.linalg.svdvals(z - z.mean(0))
    p = s / s.sum().clamp_min(1e-12)
    return float(torch.exp(-(p * torch.log(p.clamp_min(1e-12))).sum()))


def inverse_dynamics_head(mc: ModelConfig) -> torch.nn.Module:
    """Training-only head: (z_t, z_t+1) -> the action chunk between them."""
    return mlp(2 * mc.latent_dim, mc.hidden, mc.chunk * mc.action_dim)


def losses(model: WorldModel, obs: torch.Tensor, states: torch.Tensor, actions: torch.Tensor,
           tc: TrainConfig, idm: torch.nn.Module | None = None,
           generator: torch.Generator | None = None,
           distributed: bool = False) -> dict[str, torch.Tensor]:
    """The training losses of one batch of windows; 'loss' is what is minimised.

    `generator` draws SIGReg's directions; `distributed` computes SIGReg over the batches of
    every process (the other terms are per-process means, which DDP's gradient average
    turns into the global mean).
    """
    b, h1 = obs.shape[:2]
    z = model.encode(obs.flatten(0, 1)).view(b, h1, -1)  # (B, H+1, D)
    tf = model.predict(z[:, :-1].flatten(0, 1), actions.flatten(0, 1)).view(b, h1 - 1, -1)
    ar = model.rollout(z[:, 0], actions)  # (B, H, D)
    n = model.config.n_dynamic
    target = ((states[..., :n] - model.state_mean[:n]) / model.state_std[:n]).flatten(0, 1)
    out = {"probe": F.mse_loss(model.probe_head(z.detach().flatten(0, 1)), target)}
    if model.config.objective == "jepa":
        out["tf"] = F.mse_loss(tf, z[:, 1:])
        out["ar"] = F.mse_loss(ar, z[:, 1:])
        out["sigreg"] = torch.stack([sigreg(z[:, t], tc.sigreg_projections, generator,
                                            distributed) for t in range(h1)]).mean()
        out["loss"] = out["tf"] + tc.ar_weight * out["ar"] + tc.sigreg_weight * out["sigreg"]
        if idm is not None and tc.idm_weight > 0:
            pairs = torch.cat([z[:, :-1], z[:, 1:]], dim=-1).flatten(0, 1)  # (B*H, 2D)
            target = model.normalise_action(actions).flatten(0, 1).flatten(1)
            out["idm"] = F.mse_loss(idm(pairs), target)
            out["loss"] = out["loss"] + tc.idm_weight * out["idm"]
    else:
        x = model.normalise_obs(obs.flatten(0, 1))
        x = x.view(b, h1, *x.shape[1:])

        def dec(zz):
            y = model.decode(zz.flatten(0, 1))
            return y.view(b, -1, *y.shape[1:])

        out["rec"] = F.mse_loss(dec(z), x)
        out["tf"] = F.mse_loss(dec(tf), x[:, 1:])
        out["ar"] = F.mse_loss(dec(ar), x[:, 1:])
        out["loss"] = out["rec"] + out["tf"] + tc.ar_weight * out["ar"]
    out["loss"] = out["loss"] + out["probe"]
    return out


@torch.no_grad()
def evaluate(model: WorldModel, val: Episodes, tc: TrainConfig,
             generator: torch.Generator) -> dict[str, float]:
    """Collapse and quality metrics on held-out windows."""
    model.eval()
    obs, states, actions = val.sample(512, tc.horizon, model.config.chunk, generator)
    b, h1 = obs.shape[:2]
    z = model.encode(obs.flatten(0, 1)).view(b, h1, -1)
    pred = model.rollout(z[:, 0], actions)
    var = z.var(dim=(0, 1)).mean().clamp_min(1e-12)
    err = ((pred - z[:, 1:]) ** 2).mean(dim=(0, 2)) / var  # (H,) relative to embedding variance
    # Over the declared positions (a scene's x, y of agent and blocks), else every probed entry.
    pos = list(model.config.position_dims) or list(range(model.config.n_dynamic))
    probe = model.probe(z.flatten(0, 1))[:, pos]
    probe_pred = model.probe(pred.flatten(0, 1))[:, pos]
    truth = states.flatten(0, 1)[:, pos]
    truth_next = states[:, 1:].flatten(0, 1)[:, pos]
    m = {f"pred_err_h{i + 1}": float(v) for i, v in enumerate(err)}
    m["emb_std"] = float(z.flatten(0, 1).std(0).mean())
    m["eff_rank"] = effective_rank(z.flatten(0, 1))
    # In the state's own units (metres for a scene's positions).
    m["probe_rmse"] = float(((probe - truth) ** 2).mean().sqrt())
    m["probe_rollout_rmse"] = float(((probe_pred - truth_next) ** 2).mean().sqrt())
    model.train()
    return m


def _tensorboard(out: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # optional: `pip install tensorboard` to get event files as well
        return None
    return SummaryWriter(str(out / "tb"))


def load_episodes(mc: ModelConfig, tc: TrainConfig, data: Path | None, out: Path,
                  device: str) -> Episodes:
    """Read the collection in `data` (default OUT/data), collecting it first if it is not there.

    Collection is seeded, so the same settings always give the same episodes.
    """
    from scenarios.collect import CollectConfig, collect, load

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
    from scenarios.world import world_for

    spec = world_for(scenario, 0).spec

    def dims(suffix: str) -> tuple[int, ...]:
        return tuple(i for f in spec.fields if f.name.endswith(suffix)
                     for i in range(f.start, f.stop))

    agent_vel = tuple(range(spec["agent.vel"].start, spec["agent.vel"].stop))
    return ModelConfig(scenario=scenario, obs=obs, objective=objective, state_dim=spec.dim,
                       n_dynamic=spec.n_dynamic, position_dims=dims(".pos"),
                       velocity_dims=dims(".vel"),
                       goal_velocity_dims=agent_vel if obs == "state" else (), **overrides)


class Objective(nn.Module):
    """The model and its training-only heads as one module whose forward is the loss, so that
    DistributedDataParallel sees every parameter the loss uses in one call."""

    def __init__(self, model: WorldModel, idm: nn.Module | None = None):
        super().__init__()
        self.model, self.idm = model, idm

    def forward(self, obs: torch.Tensor, states: torch.Tensor, actions: torch.Tensor,
                tc: TrainConfig, generator: torch.Generator | None = None,
                distributed: bool = False) -> dict[str, torch.Tensor]:
        return losses(self.model, obs, states, actions, tc, self.idm, generator, distributed)


def _process() -> tuple[int, int]:
    """(rank, world size) of this process; (0, 1) outside a process group."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def _device() -> str:
    if not torch.cuda.is_available():
        return "cpu"
    return f"cuda:{int(os.environ.get('LOCAL_RANK', _process()[0]))}"


# One function on purpose: it reads top to bottom as the recipe (normalisation, optimiser, the
# loop, metrics), and the order of its seeded draws is what makes a run reproducible.
def fit(model: WorldModel, episodes: Episodes, tc: TrainConfig,
        out: str | os.PathLike | None = None, name: str = "model", resume: bool = False,
        progress: Callable[[int, dict], None] | None = None,
        generator: torch.Generator | None = None) -> dict:
    """Train `model` in place on `episodes` (in memory, any lengths); returns the final metrics.

    With `out`, OUT/NAME.metrics.jsonl gets a row every `tc.log_every` steps and
    OUT/NAME.resume.pt (weights, optimiser, step) is kept, from which `resume` continues.
    `progress(step, metrics)` is called after every step. Inside a process group (see
    `train`) each process draws `tc.batch / world size` windows a step and only rank 0
    evaluates and writes.
    """
    rank, world = _process()
    if tc.batch % world:
        raise ValueError(f"batch={tc.batch} does not split over {world} processes; use a "
                         f"multiple of {world}")
    torch.set_num_threads(tc.threads)
    gen = generator if generator is not None else seed_everything(tc.seed)
    start = time.perf_counter()
    mc, device = model.config, model.device
    train_eps, val_eps = episodes.split(tc.val_fraction)
    model.set_normalisation(train_eps.states.mean(0), train_eps.states.std(0))
    idm = inverse_dynamics_head(mc).to(device) if tc.idm_weight > 0 else None
    objective = Objective(model, idm)
    params = list(objective.parameters())
    opt = torch.optim.AdamW(params, lr=tc.lr, weight_decay=tc.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(s / tc.steps, 1.0))))
    step, elapsed = 0, 0.0
    resume_path = None if out is None else Path(out) / f"{name}.resume.pt"
    if resume and resume_path is not None and resume_path.exists():
        # weights_only: tensors and plain data only, never code
        saved = torch.load(resume_path, map_location=device, weights_only=True)
        if saved["model_config"] != mc.to_dict():
            raise ValueError(f"{resume_path} was trained with another model config "
                             f"({saved['model_config']}); drop --resume or use another --out")
        model.load_state_dict(saved["model"])
        if idm is not None:
            idm.load_state_dict(saved["idm"])
        opt.load_state_dict(saved["optim"])
        sched.load_state_dict(saved["sched"])
        gen.set_state(saved["generator"])
        step, elapsed = saved["step"], saved["elapsed"]
    if rank:  # every process draws its own windows, and the same SIGReg directions
        gen.manual_seed(tc.seed + 7919 * rank + step)
    directions = torch.Generator().manual_seed(tc.seed + 2 + step)
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        # Buffers (the normalisation) are equal everywhere; rank 0's weights are broadcast.
        net = DistributedDataParallel(objective, broadcast_buffers=False)
    else:
        net = objective
    metrics_file = tb = None
    if out is not None and rank == 0:
        metrics_file = (Path(out) / f"{name}.metrics.jsonl").open("a" if step else "w")
        tb = _tensorboard(Path(out))
    val_gen = torch.Generator().manual_seed(tc.seed + 1)
    row: dict = {}
    model.train()
    while step < tc.steps:
        obs, states, actions = train_eps.sample(tc.batch // world, tc.horizon, mc.chunk, gen,
                                                tc.rest_fraction, mc.velocity_dims)
        parts = net(obs, states, actions, tc, directions, world > 1)
        opt.zero_grad(set_to_none=True)
        parts["loss"].backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        step += 1
        row = {k: float(v.detach()) for k, v in parts.items()}
        if rank == 0 and (step % tc.log_every == 0 or step in (1, tc.steps)):
            row |= evaluate(model, val_eps, tc, val_gen)
            row |= {"step": step, "seconds": elapsed + time.perf_counter() - start,
                    "lr": sched.get_last_lr()[0]}
            if metrics_file is not None:
                metrics_file.write(json.dumps(row) + "\n")
                metrics_file.flush()
            if tb is not None:
                for k, v in row.items():
                    tb.add_scalar(k, v, step)
            if resume_path is not None:
                torch.save({"model": model.state_dict(), "optim": opt.state_dict(),
                            "idm": idm.state_dict() if idm is not None else None,
                            "sched": sched.state_dict(), "generator": gen.get_state(),
                            "step": step, "elapsed": elapsed + time.perf_counter() - start,
                            "model_config": mc.to_dict()}, resume_path)
        if progress and rank == 0:
            progress(step, row)
    final = finetune_probe(model, train_eps, tc, gen) if rank == 0 else {}
    if rank == 0:
        final |= evaluate(model, val_eps, tc, val_gen)
        final["train_seconds"] = elapsed + time.perf_counter() - start
        final["steps_done"] = step
    if metrics_file is not None:
        metrics_file.write(json.dumps({"final": True, **final}) + "\n")
        metrics_file.close()
    model.eval()
    return final


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
    rank, world = _process()
    device = _device()
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
        torch.distributed.destroy_process_group()
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
    train(mc, tc, out, name=name, resume=resume, command=command, episodes=episodes)


def finetune_probe(model: WorldModel, eps: Episodes, tc: TrainConfig,
                   gen: torch.Generator) -> dict:
    """Train the probe head alone on the frozen final encoder."""
    opt = torch.optim.Adam(model.probe_head.parameters(), lr=1e-3)
    n = model.config.n_dynamic
    loss = torch.zeros(())
    for _ in range(tc.probe_steps):
        obs, states, _ = eps.sample(tc.batch, 1, 1, gen)
        with torch.no_grad():
            z = model.encode(obs.flatten(0, 1))
        target = (states.flatten(0, 1)[:, :n] - model.state_mean[:n]) / model.state_std[:n]
        loss = F.mse_loss(model.probe_head(z), target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return {"probe_finetune_loss": float(loss.detach())}


def model_config_for_data(name: str, dataset, **overrides) -> ModelConfig:
    """A state model config for a `worldmodel.datasets.Dataset`: sizes from its episodes,
    action bounds and layout from what the data (or its env) declares."""
    eps, layout = dataset.episodes, dataset.layout
    return ModelConfig(scenario=name, obs="state", state_dim=eps.states.shape[1],
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
    from worldmodel.datasets import read
    from worldmodel.envs import EnvLayout, make

    dataset = read(data, obs_key)
    if dataset.env_id and dataset.env_id != env_id:
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
