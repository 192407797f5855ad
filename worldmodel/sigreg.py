"""SIGReg (LeJEPA, Balestriero & LeCun 2025): push a batch of embeddings toward N(0, I).

By the Cramer-Wold theorem a distribution is the isotropic Gaussian when every 1-D projection
of it is a standard normal, so SIGReg draws random unit directions, projects the batch on them
and averages a univariate goodness-of-fit statistic over the directions. The statistic is
Epps-Pulley's: the weighted L2 distance between the empirical characteristic function
phi_N(t) = mean_n exp(i t x_n) and the standard normal's phi(t) = exp(-t^2 / 2),

    EP = N * integral |phi_N(t) - phi(t)|^2 w(t) dt,   w(t) = exp(-t^2 / 2),

integrated by the trapezoid rule on [-t_max, t_max] (the integrand is even, so on [0, t_max]
doubled). It is bounded, smooth and differentiable in the samples, and needs no stop-gradient,
EMA target or variance/covariance terms. For samples that are N(0, 1), E[EP] does not depend on
N: it is integral 2 (1 - phi^2) phi dt ~ 1.06 on [0, 3]; for collapsed samples EP grows like N.
"""

from __future__ import annotations

import torch


def epps_pulley(x: torch.Tensor, t_max: float = 3.0, knots: int = 17,
                distributed: bool = False) -> torch.Tensor:
    """(M,) Epps-Pulley statistic of each column of `x` (N, M) against N(0, 1).

    With `distributed`, the samples are those of every process in the default process group:
    the empirical characteristic function's sums are all-reduced (`_global_sums`), so every
    process gets the statistic of the global batch, and DDP's averaged gradient is its gradient.
    """
    t = torch.linspace(0.0, t_max, knots, device=x.device, dtype=x.dtype)  # (T,)
    phi = torch.exp(-0.5 * t**2)  # the normal's CF, also the weight w(t)
    dt = t_max / (knots - 1)
    trap = torch.full_like(t, dt)
    trap[0] = trap[-1] = dt / 2
    xt = x.unsqueeze(-1) * t  # (N, M, T)
    sums = torch.stack([torch.cos(xt).sum(0), torch.sin(xt).sum(0)])  # (2, M, T)
    n = x.shape[0]
    if distributed:
        sums, world = _global_sums(sums)
        n = n * world  # every process holds an equal share of the batch
    re, im = sums / n  # (M, T) each
    err = (re - phi) ** 2 + im**2
    return n * 2.0 * (err * phi) @ trap  # (M,)


def _global_sums(local: torch.Tensor) -> tuple[torch.Tensor, int]:
    """The sum of `local` over every process, and the number of processes.

    The collective runs in the forward pass only, so that the backward pass issues none of its
    own beside DistributedDataParallel's gradient buckets (a second collective from inside the
    autograd graph can interleave with those in a different order on each process). The
    gradient reaches this process's own `local` scaled by the world size: every process holds
    the same upstream gradient, so after DDP averages the parameter gradients each process's
    share counts once, exactly as the gradient of the global statistic.
    """
    import torch.distributed as dist

    world = dist.get_world_size()
    total = local.detach().clone()
    dist.all_reduce(total)
    return total + world * (local - local.detach()), world


def sigreg(z: torch.Tensor, projections: int = 256, generator: torch.Generator | None = None,
           distributed: bool = False) -> torch.Tensor:
    """Scalar SIGReg of embeddings `z` (N, D): mean Epps-Pulley over random directions.

    `generator` draws the directions (every process must draw the same ones); `distributed`
    tests the global batch of every process (`epps_pulley`).
    """
    d = z.shape[-1]
    # Drawn on the CPU, whose generator every process can seed alike, then moved.
    a = torch.randn(d, projections, generator=generator).to(z)
    a = a / a.norm(dim=0, keepdim=True)  # (D, M) unit directions
    return epps_pulley(z @ a, distributed=distributed).mean()
