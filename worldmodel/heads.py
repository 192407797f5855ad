"""Latent predicate heads: the probability that a predicate holds, read from embeddings.

A head reads a pair (z0, z): the embedding of where a plan started and of a later moment, real
(an encoded observation) or imagined (a predicted embedding). Pairs, because a side effect is
a change ("moved more than 5 cm since the start"), and a subgoal's predicate is read the same
way. The world model stays frozen; the heads are a small MLP over [z0, z, z - z0] trained with
one binary cross-entropy per predicate. What the predicates are, and their labels, come from
the caller (`tools.predicates` for this project's scenes): this module knows only names.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from worldmodel.model import mlp


class PredicateHeads(nn.Module):
    """One logit per named predicate from (z0, z) embedding pairs."""

    def __init__(self, latent_dim: int, names: list[str], hidden: int = 128):
        super().__init__()
        self.latent_dim, self.names, self.hidden = latent_dim, list(names), hidden
        self.net = mlp(3 * latent_dim, hidden, len(self.names))

    def forward(self, z0: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """(B, D), (B, D) -> (B, P) logits."""
        return self.net(torch.cat([z0, z, z - z0], dim=-1))

    @torch.no_grad()
    def probabilities(self, z0: torch.Tensor, z: torch.Tensor) -> dict[str, float]:
        """{name: probability} for one pair (D,), (D,)."""
        p = torch.sigmoid(self(z0[None], z[None]))[0]
        return {n: float(v) for n, v in zip(self.names, p, strict=True)}


def fit(heads: PredicateHeads, z0: torch.Tensor, z: torch.Tensor, y: torch.Tensor,
        steps: int = 3000, batch: int = 512, lr: float = 1e-3, seed: int = 0) -> list[float]:
    """Train `heads` on pairs (N, D), (N, D) with 0/1 labels (N, P); returns the loss every
    100 steps. Positives are rare for side effects, so each predicate's loss is weighted by
    its negatives-to-positives ratio (at most 20)."""
    g = torch.Generator().manual_seed(seed)
    pos = y.mean(0).clamp(1e-4, 1 - 1e-4)
    weight = ((1 - pos) / pos).clamp(1.0, 20.0)
    loss_fn = nn.BCEWithLogitsLoss(pos_weight=weight)
    opt = torch.optim.AdamW(heads.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps, eta_min=lr * 0.05)
    losses = []
    for step in range(steps):
        i = torch.randint(0, len(y), (batch,), generator=g)
        loss = loss_fn(heads(z0[i], z[i]), y[i])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 100 == 0:
            losses.append(loss.item())
    return losses


def save(heads: PredicateHeads, path: str | os.PathLike, info: dict | None = None) -> Path:
    """Write PATH.heads.safetensors (weights) and PATH.heads.json (names, sizes, `info`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    weights = path.with_suffix(".heads.safetensors")
    save_file({k: v.contiguous() for k, v in heads.state_dict().items()}, str(weights))
    meta = {"latent_dim": heads.latent_dim, "names": heads.names, "hidden": heads.hidden,
            **(info or {})}
    path.with_suffix(".heads.json").write_text(json.dumps(meta, indent=1) + "\n")
    return weights


def load(path: str | os.PathLike) -> PredicateHeads:
    """The heads saved at `path` by `save` (PATH.heads.*)."""
    path = Path(path)
    meta_path = path.with_suffix(".heads.json")
    if not meta_path.exists():
        raise FileNotFoundError(f"no predicate heads at {meta_path}; train them with "
                                "`python benchmarks/bench_predicates.py --family FAMILY`")
    meta = json.loads(meta_path.read_text())
    heads = PredicateHeads(meta["latent_dim"], meta["names"], meta["hidden"])
    heads.load_state_dict(load_file(str(path.with_suffix(".heads.safetensors"))))
    return heads.eval()
