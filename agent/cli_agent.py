"""`wmagent run`, `wmagent demo`, `wmagent runs`: episodes from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

console = Console()

DEMO_SCENARIO, DEMO_SEED = "sort", 7


def _print_event(event: dict) -> None:
    kind = event["type"]
    if kind == "plan":
        label = "revised plan" if event.get("revised") else "plan"
        table = Table("#", "skill", "object", "target", title=label)
        for i, s in enumerate(event["plan"], 1):
            table.add_row(str(i), s["skill"], s["object"], s["target"])
        console.print(table)
    elif kind == "question":
        console.print(f"[bold]question:[/] {event['question']}")
    elif kind == "imagined" and not event["ok"]:
        console.print(f"[yellow]imagined failure:[/] {event['reason']}")
    elif kind == "subgoal_started":
        s = event["subgoal"]
        what = f"go to the {s['target']}" if s["skill"] == "go" else (
            f"push the {s['object']} into the {s['target']}")
        console.print(f"subgoal {event['index'] + 1}: {what} (attempt {event['attempt']})")
    elif kind == "subgoal_done":
        mark = "[green]done[/]" if event["success"] else f"[red]failed[/] {event['reason']}"
        console.print(f"  {mark} in {event['steps']} steps")
    elif kind == "revision":
        console.print(f"[yellow]asking the LLM to revise:[/] {event['reason']}")


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
    if resume:
        record = runner.resume(resume, answer=answer, on_event=_print_event, video=video)
    else:
        record = runner.run(scenario, instruction, seed=seed, subgoals=_subgoal_list(subgoals),
                            video=video, on_event=_print_event)
    console.print(record.summary())
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
    record = make_agent(agent).run(task.scenario, task.instruction, seed=task.seed,
                                   subgoals=task.subgoals, video=video,
                                   on_event=_print_event)
    console.print(record.summary())
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
