"""`wmagent run`, `wmagent demo`, `wmagent runs`: episodes from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from agent.render import EventRenderer, summary_table

console = Console()

DEMO_SCENARIO, DEMO_SEED = "sort", 7


def _subgoal_list(text: str | None):
    from scenarios.subgoals import Subgoal

    if not text:
        return None
    return [Subgoal.parse(part) for part in text.split(";") if part.strip()]


def run(
    instruction: Annotated[str, typer.Argument(help="What the agent should do.")],
    scenario: Annotated[str, typer.Option(help="Scenario name.")] = "push",
    seed: Annotated[int, typer.Option(min=0, help="Scene seed.")] = 0,
    agent: Annotated[str, typer.Option(help="Agent kind (hybrid, llm-only, wm-only, "
                                             "oracle-plan, oracle-sim, oracle-script).")
                     ] = "hybrid",
    llm: Annotated[str | None, typer.Option(help="'embedded', a server URL, or "
                                                 "'scripted:FILE'.")] = None,
    subgoals: Annotated[str | None, typer.Option(
        help="Ground truth, ';'-separated, e.g. 'push red block into green zone; go to home "
             "pad' (oracle agents need it; others are then judged against it).")] = None,
    video: Annotated[Path | None, typer.Option(help="Write an MP4 or GIF of the episode.")
                     ] = None,
    resume: Annotated[str | None, typer.Option(help="Resume this thread id.")] = None,
    answer: Annotated[str | None, typer.Option(help="Answer to a pending question.")] = None,
) -> int:
    """Run one episode and print its plan, progress and outcome."""
    from agent.factory import make_agent

    runner = make_agent(agent, llm=llm)
    show = EventRenderer(console, steps_for=runner.budgets.steps_for)
    try:
        if resume:
            record = runner.resume(resume, answer=answer, on_event=show, video=video)
        else:
            record = runner.run(scenario, instruction, seed=seed,
                                subgoals=_subgoal_list(subgoals), video=video, on_event=show)
    finally:
        show.close()
    console.print(summary_table(record))
    if record.question:
        console.print(f"resume with: wmagent run '' --agent {agent} --resume "
                      f"{record.thread_id} --answer '...'")
    if record.video:
        console.print(f"video: {record.video}")
    console.print(f"thread: {record.thread_id}")
    return 0 if record.success else 3


def demo(
    video: Annotated[Path, typer.Option(help="Where to write the video.")] = Path(
        "out/demo.mp4"),
    agent: Annotated[str, typer.Option(help="Agent kind.")] = "oracle-script",
) -> int:
    """The README's main job: a multi-step instruction solved end to end, with a video."""
    from agent.factory import make_agent
    from scenarios import instructions

    task = next(instructions.generate(DEMO_SCENARIO, 1, "test", seed=DEMO_SEED, subgoals=(3,)))
    console.print(f"[bold]{task.instruction}[/] ({task.scenario}, seed {task.seed})")
    runner = make_agent(agent)
    show = EventRenderer(console, steps_for=runner.budgets.steps_for)
    try:
        record = runner.run(task.scenario, task.instruction, seed=task.seed,
                            subgoals=task.subgoals, video=video, on_event=show)
    finally:
        show.close()
    console.print(summary_table(record))
    console.print(f"video: {record.video}")
    return 0 if record.success else 3


def runs(limit: Annotated[int, typer.Option(min=1, help="How many.")] = 20) -> None:
    """List recent runs (thread ids to resume)."""
    from agent.store import RunStore

    table = Table("thread", "agent", "scenario", "seed", "status", "instruction")
    for r in RunStore().runs(limit):
        table.add_row(r["thread_id"], r["agent"], r["scenario"], str(r["seed"]), r["status"],
                      r["instruction"][:40])
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("demo")(demo)
    app.command("runs")(runs)
