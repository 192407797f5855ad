"""Training a world model on episodes in memory: the losses, the metrics and the loop.

JEPA loss on a window of H latent steps with embeddings z_0..z_H = encode(obs_0..obs_H):
  teacher-forced   mean_t |predict(z_t, a_t) - z_{t+1}|^2
  autoregressive   mean_t |rollout(z_0, a)_t - z_{t+1}|^2
  SIGReg           mean_t sigreg(z_t over the batch)      (the only anti-collapse term)
Reconstruction swaps the latent targets for observations: a decoder must reproduce obs_t from
z_t and obs_{t+1} from the predicted latents (teacher-forced and autoregressive), with no
latent-matching loss and no SIGReg. The state probe trains throughout on detached embeddings
(it never shapes the encoder), then once more on the final frozen encoder.

Inside a process group (`worldmodel.train` starts one for `--procs N`, or `torchrun` does)
each process trains on its share of the global batch under DistributedDataParallel, and
SIGReg is computed over the global batch (its sums are all-reduced), so N processes compute
the loss and gradients of one process on the same batch. Nothing here imports MuJoCo; the
model is any `worldmodel.model.WorldModel` (typed as a module here: the model's own `fit`
calls this one).
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

from worldmodel.config import ModelConfig, TrainConfig
from worldmodel.data import Episodes
from worldmodel.layers import mlp
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


def masked_frames(x: torch.Tensor, ratio: float, generator: torch.Generator | None,
                  grid: int = 8) -> torch.Tensor:
    """Encoder inputs (N, C, H, W) with `ratio` of a grid x grid of patches set to 0 (mid
    grey), the same patches in every channel and stacked frame."""
    n, _, h, w = x.shape
    keep = torch.rand(n, 1, grid, grid, generator=generator, device="cpu") >= ratio
    keep = F.interpolate(keep.float(), size=(h, w), mode="nearest").to(x.device)
    return x * keep


def mask_head(mc: ModelConfig) -> torch.nn.Module:
    """Training-only head: the masked frame's embedding -> the whole frame's."""
    return mlp(mc.latent_dim, mc.hidden, mc.latent_dim)


def masked_loss(model: nn.Module, obs: torch.Tensor, target: torch.Tensor, head: nn.Module,
                tc: TrainConfig, generator: torch.Generator | None) -> torch.Tensor:
    """I-JEPA's objective over whole frames: from the embedding of a frame with patches
    hidden, predict the embedding of the frame (a target with no gradient; SIGReg keeps the
    embeddings from collapsing). Relative to the targets' variance, so that 1 is no better
    than predicting their mean, whatever their scale. `target`: the frames' embeddings, already
    computed by the caller (the gradient is stopped here)."""
    target = target.detach()
    pred = head(model.encoder(masked_frames(model.normalise_obs(obs), tc.mask_ratio, generator)))
    return F.mse_loss(pred, target) / target.var(0).mean().clamp_min(1e-6)


def losses(model: nn.Module, obs: torch.Tensor, states: torch.Tensor, actions: torch.Tensor,
           tc: TrainConfig, idm: torch.nn.Module | None = None,
           generator: torch.Generator | None = None,
           distributed: bool = False, masker: torch.nn.Module | None = None,
           pretraining: bool = False) -> dict[str, torch.Tensor]:
    """The training losses of one batch of windows; 'loss' is what is minimised.

    `generator` draws SIGReg's directions (and the masks); `distributed` computes SIGReg over
    the batches of every process (the other terms are per-process means, which DDP's gradient
    average turns into the global mean). With `masker` (the masked-frame head) the masked
    term joins; `pretraining`: the masked term and SIGReg only.
    """
    b, h1 = obs.shape[:2]
    if pretraining:
        z = model.encode(obs[:, 0])
        out = {"mask": masked_loss(model, obs[:, 0], z, masker, tc, generator),
               "sigreg": sigreg(z, tc.sigreg_projections, generator, distributed)}
        out["loss"] = out["mask"] + tc.sigreg_weight * out["sigreg"]
        return out
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
        if masker is not None and tc.mask_weight > 0:
            out["mask"] = masked_loss(model, obs[:, 0], z[:, 0], masker, tc, generator)
            out["loss"] = out["loss"] + tc.mask_weight * out["mask"]
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
def evaluate(model: nn.Module, val: Episodes, tc: TrainConfig,
             generator: torch.Generator) -> dict[str, float]:
    """Collapse and quality metrics on held-out windows."""
    model.eval()
    mc = model.config
    obs, states, actions = val.sample(512, tc.horizon, mc.chunk, generator,
                                      frames=mc.frames, gap=mc.chunk)
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


class Objective(nn.Module):
    """The model and its training-only heads as one module whose forward is the loss, so that
    DistributedDataParallel sees every parameter the loss uses in one call."""

    def __init__(self, model: nn.Module, idm: nn.Module | None = None,
                 masker: nn.Module | None = None):
        super().__init__()
        self.model, self.idm, self.masker = model, idm, masker

    def forward(self, obs: torch.Tensor, states: torch.Tensor, actions: torch.Tensor,
                tc: TrainConfig, generator: torch.Generator | None = None,
                distributed: bool = False, pretraining: bool = False
                ) -> dict[str, torch.Tensor]:
        return losses(self.model, obs, states, actions, tc, self.idm, generator, distributed,
                      self.masker, pretraining)


def process() -> tuple[int, int]:
    """(rank, world size) of this process; (0, 1) outside a process group."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def leave_process_group() -> None:
    """Destroy the default process group once every process has finished with it.

    A gloo worker thread drops its reference to a finished collective on its own time, and if
    that collective's tensors have Python objects it needs the GIL to do so, holding the
    group's queue lock meanwhile. Destroying the group takes that lock from the main thread,
    which holds the GIL: the two wait for each other forever (seen as a test that hung at the
    end of a run whose work was done). So first wait at a barrier and then sleep a moment,
    both with the GIL released, so the workers have let every collective go; the caller drops
    its DistributedDataParallel wrapper before this.
    """
    torch.distributed.barrier()
    time.sleep(0.2)
    torch.distributed.destroy_process_group()


def device_of_process() -> str:
    """The device this process trains on: its own GPU (LOCAL_RANK) if there are GPUs."""
    if not torch.cuda.is_available():
        return "cpu"
    return f"cuda:{int(os.environ.get('LOCAL_RANK', process()[0]))}"


# One function on purpose: it reads top to bottom as the recipe (normalisation, optimiser, the
# loop, metrics), and the order of its seeded draws is what makes a run reproducible.
def fit(model: nn.Module, episodes: Episodes, tc: TrainConfig,
        out: str | os.PathLike | None = None, name: str = "model", resume: bool = False,
        progress: Callable[[int, dict], None] | None = None,
        generator: torch.Generator | None = None) -> dict:
    """Train `model` in place on `episodes` (in memory, any lengths); returns the final metrics.

    With `out`, OUT/NAME.metrics.jsonl gets a row every `tc.log_every` steps and
    OUT/NAME.resume.pt (weights, optimiser, step) is kept, from which `resume` continues.
    `progress(step, metrics)` is called after every step. Inside a process group (see
    `worldmodel.train`) each process draws `tc.batch / world size` windows a step and only rank 0
    evaluates and writes.
    """
    rank, world = process()
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
    masker = mask_head(mc).to(device) if tc.mask_weight > 0 else None
    if masker is not None and mc.obs != "pixels":
        raise ValueError("the masked-frame term (mask_weight) hides patches of frames: train "
                         "with --obs pixels, or drop it")
    objective = Objective(model, idm, masker)
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
        if masker is not None:
            masker.load_state_dict(saved["masker"])
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
        net = DistributedDataParallel(objective, broadcast_buffers=False,
                                      find_unused_parameters=tc.pretrain_steps > 0)
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
                                                tc.rest_fraction, mc.velocity_dims,
                                                mc.frames, mc.chunk)
        parts = net(obs, states, actions, tc, directions, world > 1, step < tc.pretrain_steps)
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
                            "masker": masker.state_dict() if masker is not None else None,
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


def finetune_probe(model: nn.Module, eps: Episodes, tc: TrainConfig,
                   gen: torch.Generator) -> dict:
    """Train the probe head alone on the frozen final encoder."""
    opt = torch.optim.Adam(model.probe_head.parameters(), lr=1e-3)
    n = model.config.n_dynamic
    loss = torch.zeros(())
    for _ in range(tc.probe_steps):
        obs, states, _ = eps.sample(tc.batch, 1, 1, gen, frames=model.config.frames,
                                    gap=model.config.chunk)
        with torch.no_grad():
            z = model.encode(obs.flatten(0, 1))
        target = (states.flatten(0, 1)[:, :n] - model.state_mean[:n]) / model.state_std[:n]
        loss = F.mse_loss(model.probe_head(z), target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return {"probe_finetune_loss": float(loss.detach())}
