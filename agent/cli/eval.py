"""`wmagent eval`: run agents on a suite and write the report."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

console = Console()


def eval_(
    suite: Annotated[str, typer.Option(help="A built-in suite (default, horizon, paraphrase, "
                                            "push-2, sort-4, pads-6, ...) or a suite file "
                                            "(docs/suites.md).")] = "default",
    agents: Annotated[str, typer.Option(help="Comma-separated agent kinds.")
                      ] = "hybrid,llm-only,wm-only,oracle-plan,oracle-sim",
    episodes: Annotated[int | None, typer.Option(min=1, help="Episodes (built-in: the suite "
                                                 "size; file: the first N).")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Episodes in parallel.")] = 1,
    ray: Annotated[bool, typer.Option(help="Run episodes on Ray (a local instance unless "
                                           "--ray-address is given).")] = False,
    ray_address: Annotated[str | None, typer.Option(help="Ray cluster address, e.g. "
                                                         "ray://head:10001.")] = None,
    llm: Annotated[str | None, typer.Option(help="'embedded', a server URL, or "
                                                 "'scripted:FILE'.")] = None,
    out: Annotated[Path, typer.Option(help="Results and report directory (resumed).")
                   ] = Path("out/eval"),
    retry_errors: Annotated[bool, typer.Option(help="Rerun episodes stored as errors.")] = False,
    new: Annotated[bool, typer.Option(help="Run afresh the agents whose rows in --out were made "
                                           "by another configuration (LLM, adapter, world "
                                           "model, budgets); the old rows are kept, not "
                                           "reported.")] = False,
    obs: Annotated[str, typer.Option(help="What the world models read: state, or pixels "
                                          "(shipped for every family).")]
    = "state",
    candidates: Annotated[int, typer.Option(min=1, max=16, help="hybrid, where side effects "
                                            "count: plans meaning the same that the world "
                                            "model compares before acting (1: the LLM's "
                                            "alone).")] = 4,
    planner_seed: Annotated[int, typer.Option(min=0, help="The world-model agents' planner "
                                              "seed, in acting and imagining: run a suite "
                                              "under seeds 0, 1, 2 to see how much of a "
                                              "result is the search's luck.")] = 0,
) -> None:
    """Measure agents on the same episodes; an interrupted sweep resumes where it stopped."""
    from agent.evaluation import evaluate

    ray_at = (ray_address or "local") if ray or ray_address else None
    names = [a.strip() for a in agents.split(",") if a.strip()]
    # The command in canonical form, for the report: what reproduces this sweep.
    command = shlex.join(["wmagent", "eval", "--suite", suite, "--agents", ",".join(names)]
                         + (["--episodes", str(episodes)] if episodes else [])
                         + ["--workers", str(workers)] + (["--ray"] if ray_at else [])
                         + (["--ray-address", ray_address] if ray_address else [])
                         + (["--llm", llm] if llm else [])
                         + (["--obs", obs] if obs != "state" else [])
                         + (["--candidates", str(candidates)] if candidates != 4 else [])
                         + (["--planner-seed", str(planner_seed)] if planner_seed else [])
                         + ["--out", str(out)])
    summary = evaluate(suite, names, out, episodes=episodes, workers=workers, ray=ray_at, llm=llm,
                       retry_errors=retry_errors, new=new, command=command, console=console,
                       obs=obs, candidates=candidates, planner_seed=planner_seed)
    table = Table("agent", "episodes", "success [95% CI]", "planning", title=summary["suite"])
    for a, s in summary["agents"].items():
        plan = s["decomposition_accuracy"]
        table.add_row(a, str(s["episodes"]), f"{s['success_rate'] or 0:.0%} "
                      f"[{s['ci_low']:.0%}, {s['ci_high']:.0%}]",
                      "n/a" if plan is None else f"{plan:.0%}")
    console.print(table)
    console.print(f"report: {out / 'report.md'}")


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_)
