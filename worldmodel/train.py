"""Training: JEPA (latent prediction + SIGReg) or reconstruction, with metrics and checkpoints.

JEPA loss on a window of H latent steps with embeddings z_0..z_H = encode(obs_0..obs_H):
  teacher-forced   mean_t |predict(z_t, a_t) - z_{t+1}|^2
  autoregressive   mean_t |rollout(z_0, a)_t - z_{t+1}|^2
  SIGReg           mean_t sigreg(z_t over the batch)      (the only anti-collapse term)
Reconstruction swaps the latent targets for observations: a decoder must reproduce obs_t from
z_t and obs_{t+1} from the predicted latents (teacher-forced and autoregressive), with no
latent-matching loss and no SIGReg. The state probe trains throughout on detached embeddings
(it never shapes the encoder), then once more on the final frozen encoder.
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

from scenarios.collect import CollectConfig, collect, load
from scenarios.world import world_for
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
           tc: TrainConfig, idm: torch.nn.Module | None = None) -> dict[str, torch.Tensor]:
    """The training losses of one batch of windows; 'loss' is what is minimised."""
    b, h1 = obs.shape[:2]
    z = model.encode(obs.flatten(0, 1)).view(b, h1, -1)  # (B, H+1, D)
    tf = model.predictor(z[:, :-1].flatten(0, 1), actions.flatten(0, 1)).view(b, h1 - 1, -1)
    ar = model.rollout(z[:, 0], actions)  # (B, H, D)
    n = model.config.n_dynamic
    target = ((states[..., :n] - model.state_mean[:n]) / model.state_std[:n]).flatten(0, 1)
    out = {"probe": F.mse_loss(model.probe_head(z.detach().flatten(0, 1)), target)}
    if model.config.objective == "jepa":
        out["tf"] = F.mse_loss(tf, z[:, 1:])
        out["ar"] = F.mse_loss(ar, z[:, 1:])
        out["sigreg"] = torch.stack([sigreg(z[:, t], tc.sigreg_projections)
                                     for t in range(h1)]).mean()
        out["loss"] = out["tf"] + tc.ar_weight * out["ar"] + tc.sigreg_weight * out["sigreg"]
        if idm is not None and tc.idm_weight > 0:
            pairs = torch.cat([z[:, :-1], z[:, 1:]], dim=-1).flatten(0, 1)  # (B*H, 2D)
            out["idm"] = F.mse_loss(idm(pairs), actions.flatten(0, 1).flatten(1))
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
    pos = [i for i in range(model.config.n_dynamic) if i % 4 < 2]  # x, y of agent and blocks
    probe = model.probe(z.flatten(0, 1))[:, pos]
    probe_pred = model.probe(pred.flatten(0, 1))[:, pos]
    truth = states.flatten(0, 1)[:, pos]
    truth_next = states[:, 1:].flatten(0, 1)[:, pos]
    m = {f"pred_err_h{i + 1}": float(v) for i, v in enumerate(err)}
    m["emb_std"] = float(z.flatten(0, 1).std(0).mean())
    m["eff_rank"] = effective_rank(z.flatten(0, 1))
    m["probe_rmse_m"] = float(((probe - truth) ** 2).mean().sqrt())
    m["probe_rollout_rmse_m"] = float(((probe_pred - truth_next) ** 2).mean().sqrt())
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
    return Episodes.from_arrays(arrays, device, with_pixels=mc.obs == "pixels",
                                n_dynamic=mc.n_dynamic)


def _unfinished(data: Path) -> bool:
    m = json.loads((data / "dataset.json").read_text())
    return sum(s["episodes"] for s in m["shards"]) < m["config"]["episodes"]


def model_config_for(scenario: str, obs: str, objective: str, **overrides) -> ModelConfig:
    """A model config whose state sizes come from the scenario's StateSpec."""
    spec = world_for(scenario, 0).spec
    return ModelConfig(scenario=scenario, obs=obs, objective=objective, state_dim=spec.dim,
                       n_dynamic=spec.n_dynamic, **overrides)


# One function on purpose: it reads top to bottom as the recipe (data, model, optimiser, the
# loop, checkpoints), and the order of its seeded draws is what makes a run reproducible.
def train(mc: ModelConfig, tc: TrainConfig, out: str | os.PathLike, data: Path | None = None,
          name: str = "model", resume: bool = False, command: str = "",
          progress: Callable[[int, dict], None] | None = None) -> dict:
    """Train a world model into OUT/NAME.{safetensors,json}; returns the final metrics.

    `progress(step, metrics)` is called after every step. With `resume`, training continues
    from OUT/NAME.resume.pt (weights, optimiser, step) when it exists.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.set_num_threads(tc.threads)
    gen = seed_everything(tc.seed)
    start = time.perf_counter()
    episodes = load_episodes(mc, tc, data, out, device)
    train_eps, val_eps = episodes.split(tc.val_fraction)
    model = WorldModel(mc).to(device)
    flat = train_eps.states.flatten(0, 1)
    model.set_normalisation(flat.mean(0), flat.std(0))
    idm = inverse_dynamics_head(mc).to(device) if tc.idm_weight > 0 else None
    params = list(model.parameters()) + (list(idm.parameters()) if idm is not None else [])
    opt = torch.optim.AdamW(params, lr=tc.lr, weight_decay=tc.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(s / tc.steps, 1.0))))
    step, elapsed = 0, 0.0
    resume_path = out / f"{name}.resume.pt"
    if resume and resume_path.exists():
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
    metrics_file = (out / f"{name}.metrics.jsonl").open("a" if step else "w")
    tb = _tensorboard(out)
    val_gen = torch.Generator().manual_seed(tc.seed + 1)
    row: dict = {}
    model.train()
    while step < tc.steps:
        obs, states, actions = train_eps.sample(tc.batch, tc.horizon, mc.chunk, gen,
                                                tc.rest_fraction)
        parts = losses(model, obs, states, actions, tc, idm)
        opt.zero_grad(set_to_none=True)
        parts["loss"].backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        step += 1
        row = {k: float(v.detach()) for k, v in parts.items()}
        if step % tc.log_every == 0 or step in (1, tc.steps):
            row |= evaluate(model, val_eps, tc, val_gen)
            row |= {"step": step, "seconds": elapsed + time.perf_counter() - start,
                    "lr": sched.get_last_lr()[0]}
            metrics_file.write(json.dumps(row) + "\n")
            metrics_file.flush()
            if tb is not None:
                for k, v in row.items():
                    tb.add_scalar(k, v, step)
            torch.save({"model": model.state_dict(), "optim": opt.state_dict(),
                        "idm": idm.state_dict() if idm is not None else None,
                        "sched": sched.state_dict(), "generator": gen.get_state(), "step": step,
                        "elapsed": elapsed + time.perf_counter() - start,
                        "model_config": mc.to_dict()}, resume_path)
        if progress:
            progress(step, row)
    final = finetune_probe(model, train_eps, tc, gen)
    final |= evaluate(model, val_eps, tc, val_gen)
    final["train_seconds"] = elapsed + time.perf_counter() - start
    metrics_file.write(json.dumps({"final": True, **final}) + "\n")
    metrics_file.close()
    checkpoint.save(model.cpu(), out / name, {"command": command, "train_config": tc.to_dict(),
                                              "metrics": final, "steps_done": step})
    return final


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
