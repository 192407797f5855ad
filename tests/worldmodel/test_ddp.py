"""Two processes under DistributedDataParallel (gloo, this CPU) compute the loss and gradients
of one process on the same global batch: SIGReg is taken over the global batch."""

import faulthandler
import multiprocessing
from datetime import timedelta

import numpy as np
import torch
import torch.distributed as dist

from worldmodel.config import ModelConfig, TrainConfig
from worldmodel.fit import Objective, leave_process_group
from worldmodel.model import WorldModel

CONFIG = ModelConfig(scenario="toy", state_dim=6, n_dynamic=6, action_dim=3, latent_dim=8,
                     hidden=32, chunk=2)
TC = TrainConfig(batch=32, horizon=3, sigreg_projections=16)


def batch():
    g = torch.Generator().manual_seed(1)
    b, h = TC.batch, TC.horizon
    obs = torch.randn(b, h + 1, CONFIG.state_dim, generator=g)
    return obs, obs, torch.randn(b, h, CONFIG.chunk, CONFIG.action_dim, generator=g)


def model():
    torch.manual_seed(0)
    return Objective(WorldModel(CONFIG))


DEADLINE_S = 120  # the whole run takes a few seconds; past this a process is stuck


def worker(rank: int, store: str, out: str, stacks: str) -> None:
    torch.set_num_threads(1)
    # A stuck process writes where every thread of it was, then exits: the test reports it.
    trace = open(f"{stacks}.{rank}", "w")  # noqa: SIM115 - open until the process ends
    faulthandler.dump_traceback_later(DEADLINE_S - 30, exit=True, file=trace)
    # A file rendezvous: no port to race for with other jobs on this machine.
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=2,
                            timeout=timedelta(seconds=60))  # fail, never hang, if one is lost
    net = torch.nn.parallel.DistributedDataParallel(model())
    half = slice(rank * TC.batch // 2, (rank + 1) * TC.batch // 2)
    obs, states, actions = (x[half] for x in batch())
    parts = net(obs, states, actions, TC, torch.Generator().manual_seed(5), True)
    parts["loss"].backward()
    loss = parts["loss"].detach().clone()
    dist.all_reduce(loss)  # the per-process losses' mean is the global batch's loss
    if rank == 0:
        grads = {k: p.grad for k, p in net.module.named_parameters() if p.grad is not None}
        torch.save({"loss": loss / 2, "sigreg": parts["sigreg"].detach(), "grads": grads}, out)
    del net, parts, loss
    leave_process_group()


def test_two_gloo_processes_match_one_process_on_the_same_global_batch(tmp_path,
                                                                    monkeypatch):
    out = tmp_path / "ddp.pt"
    # Both processes on this machine: gloo over the loopback, whatever the hostname resolves to.
    monkeypatch.setenv("GLOO_SOCKET_IFNAME", "lo")
    run_two(tmp_path, out)
    ddp = torch.load(out, weights_only=True)

    one = model()
    parts = one(*batch(), TC, torch.Generator().manual_seed(5), False)
    parts["loss"].backward()
    assert abs(float(ddp["loss"]) - float(parts["loss"].detach())) < 1e-5
    assert abs(float(ddp["sigreg"]) - float(parts["sigreg"].detach())) < 1e-5
    grads = {k: p.grad for k, p in one.named_parameters() if p.grad is not None}
    assert set(grads) == set(ddp["grads"])
    worst = max(float((grads[k] - ddp["grads"][k]).abs().max()) for k in grads)
    assert worst < 1e-5, worst
    # and SIGReg really is global: per-process SIGReg on half the batch differs
    half = one(*(x[: TC.batch // 2] for x in batch()), TC, torch.Generator().manual_seed(5))
    assert not np.isclose(float(half["sigreg"].detach()), float(parts["sigreg"].detach()),
                          atol=1e-3)


def run_two(tmp_path, out) -> None:
    """Run `worker` in two processes; fail with each one's stacks, never hang, if one sticks."""
    ctx = multiprocessing.get_context("spawn")
    stacks = tmp_path / "stacks"
    procs = [ctx.Process(target=worker, args=(r, str(tmp_path / "store"), str(out), str(stacks)))
             for r in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(DEADLINE_S)
    stuck = [p for p in procs if p.is_alive()]
    for p in stuck:
        p.kill()
    codes = [p.exitcode for p in procs]
    if stuck or any(codes):
        report = "\n".join(f"--- rank {r}:\n" + (stacks.with_suffix(f".{r}").read_text()
                                                  if stacks.with_suffix(f".{r}").exists() else "")
                           for r in range(2))
        raise AssertionError(f"the two DDP processes did not finish (exit codes {codes}); "
                             f"where they were:\n{report}")
