"""`wmagent decompose`, `wmagent serve` and `wmagent finetune-planner`: the LLM layer."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from agent.cli.limits import MAX_SEED
from agent.llm.model import PACKAGED

console = Console(stderr=True)
LLM_HELP = "'embedded' (default unless WMAGENT_LLM_URL is set) or a server URL ending in /v1."


def decompose(
    instruction: Annotated[str, typer.Argument(help="What the person wants, in English.")],
    scenario: Annotated[str, typer.Option(help="Scenario name (see `wmagent scenarios list`).")],
    seed: Annotated[int, typer.Option(min=0, max=MAX_SEED, help="Scene seed.")] = 0,
    llm: Annotated[str | None, typer.Option(help=LLM_HELP)] = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print the typed reply as JSON: intent, plan, text (and usage, "
                       "problems, attempts, raw).")] = False,
) -> int:
    """Read a message in a scene, moving nothing: a plan (act), an answer to a question, a
    what-if's prediction, a question back, why not, or stop. Exit code 0 when it was read,
    3 when the agent needs to ask you (clarify) or could not read it."""
    import numpy as np

    import scenarios
    from agent.llm import make_backend
    from agent.understand.decompose import decompose as run
    from scenarios.scene import SceneDescription
    from tools import answers

    world = scenarios.world_for(scenarios.get(scenario).name, seed)
    scene = SceneDescription.from_layout(world.layout)
    backend = make_backend(llm)
    result = run(backend, scene, instruction)
    reply = result.reply
    if reply is not None and reply.intent == "act" and reply.plan is not None:
        reply = reply.model_copy(update={"text": answers.understood(reply.plan)})
    elif reply is not None and reply.intent not in ("act", "clarify"):
        imagine = None
        if reply.intent == "imagine":
            from tools.imagination import WorldModelImaginer
            from tools.models import ModelShelf

            imagine = WorldModelImaginer(ModelShelf()).imagine
        start = np.asarray(world.state())
        text = answers.respond(world, start, reply, imagine, instruction)
        reply = reply.model_copy(update={"text": text})
    if as_json:
        data = (reply.contract() if reply is not None else
                {"intent": "clarify", "plan": None, "text": result.question or ""})
        data.update(usage=result.usage.model_dump(), problems=result.problems,
                    attempts=result.attempts, raw=result.raw)
        print(json.dumps(data, indent=1))
    elif reply is not None and reply.intent == "act" and reply.plan is not None:
        print(reply.text)
        for i, s in enumerate(reply.plan.subgoals, 1):
            print(f"{i}. {s.text()}")
    else:
        print(reply.text if reply is not None and reply.text else result.question)
    u = result.usage
    console.print(f"{backend.describe()}: {u.calls} call(s), {u.prompt_tokens}+"
                  f"{u.completion_tokens} tokens, {u.seconds:.1f} s", highlight=False)
    return 0 if reply is not None and reply.intent != "clarify" else 3


def serve(
    model: Annotated[str, typer.Option(help="'packaged' or an HF model directory.")] = PACKAGED,
    adapter: Annotated[str, typer.Option(help="'planner', a LoRA dir, or 'none'.")] = "planner",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
) -> None:
    """Start vLLM's OpenAI-compatible server (installed in its own venv on first use)."""
    import signal
    import sys

    from agent.llm.serve import ServeConfig, Server

    # SIGTERM must stop the server too (a background shell also ignores SIGINT).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    cfg = ServeConfig(model=model, adapter=None if adapter == "none" else adapter,
                      host=host, port=port)
    with Server(cfg, log=console.print) as server:
        console.print(f"starting vLLM (log: {server.log_path}) ...")
        url = server.wait_ready()
        print(url, flush=True)
        console.print(f"model name: {cfg.served_model}; export WMAGENT_LLM_URL={url} "
                      f"WMAGENT_LLM_MODEL={cfg.served_model}; Ctrl-C stops it", highlight=False)
        while server.proc.poll() is None:
            time.sleep(1)


def finetune_planner(
    out: Annotated[Path, typer.Option(help="Where to write the adapter.")] = Path(
        "agent/adapters/planner"),
    steps: Annotated[int, typer.Option(min=1, help="Optimiser steps.")] = 240,
    warmup: Annotated[int, typer.Option(min=0, help="Warm-up steps.")] = 6,
    batch: Annotated[int, typer.Option(min=1, help="Sequences per step.")] = 8,
    lr: Annotated[float, typer.Option(help="Peak learning rate.")] = 1e-3,
    rank: Annotated[int, typer.Option(min=1, help="LoRA rank (alpha is twice it).")] = 16,
    per_family: Annotated[int, typer.Option(min=1, help="Instructions per family.")] = 400,
    seed: Annotated[int, typer.Option(
        min=0, max=MAX_SEED, help="Corpus and initialisation seed.")] = 0,
    reworded: Annotated[float, typer.Option(help="Share given a re-worded copy.")] = 0.7,
    pseudo: Annotated[float, typer.Option(help="Share of copies with made-up verbs.")] = 0.4,
    repairs: Annotated[float, typer.Option(
        help="Share given a repair example (a wrong answer, what is wrong, the plan).")] = 0.0,
    threads: Annotated[int, typer.Option(min=1, help="torch CPU threads.")] = 1,
    init: Annotated[str | None, typer.Option(help="Adapter to continue from.")] = None,
    requests: Annotated[int, typer.Option(
        min=0, help="Typed messages of every intent per family (questions, what-ifs, "
                    "relations, avoid, clarify, cannot, stop).")] = 300,
) -> None:
    """Train the planner's LoRA adapter on the training split of every scenario family."""
    from agent.llm.training.finetune import FinetuneConfig, finetune

    cfg = FinetuneConfig(steps=steps, warmup=warmup, batch=batch, lr=lr, rank=rank,
                         alpha=2.0 * rank, per_family=per_family, seed=seed, reworded=reworded,
                         pseudo=pseudo, repairs=repairs, threads=threads, init=init,
                         requests=requests)
    start = time.perf_counter()
    stats = finetune(cfg, out, progress=lambda s, loss: console.print(
        f"step {s}/{steps} loss {loss:.4f} ({time.perf_counter() - start:.0f} s)",
        highlight=False))
    console.print(f"adapter in {out}: {stats['examples']} examples, {stats['seconds']:.0f} s, "
                  f"loss {stats['first_loss']:.3f} -> {stats['last_loss']:.3f}")


def shrink_planner(
    src: Annotated[Path, typer.Argument(help="Adapter directory to shrink.")],
    out: Annotated[Path, typer.Option(help="Where to write the smaller adapter.")],
    rank: Annotated[int, typer.Option(min=1, help="New LoRA rank.")] = 8,
) -> None:
    """Re-factor an adapter's LoRA updates to a lower rank by SVD (a smaller file)."""
    from agent.llm.training.finetune import shrink_adapter

    try:
        stats = shrink_adapter(src, out, rank)
    except (ValueError, FileNotFoundError) as e:
        raise typer.BadParameter(str(e)) from None
    console.print(f"adapter in {out}: rank {stats['from_rank']} -> {stats['rank']}, "
                  f"{stats['bytes'] / 1e6:.1f} MB, at least {stats['energy_kept']:.1%} of each "
                  "update's energy kept; measure it with benchmarks/bench_decompose.py --adapter")


def register(app: typer.Typer) -> None:
    app.command("decompose")(decompose)
    app.command("serve")(serve)
    app.command("finetune-planner")(finetune_planner)
    app.command("shrink-planner")(shrink_planner)
