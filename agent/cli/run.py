"""`wmagent run`, `wmagent demo`, `wmagent runs`: episodes from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from agent.chat.render import EventRenderer, escape, summary_table
from agent.cli.limits import MAX_SEED

console = Console()
quiet = Console(stderr=True)

# A task where consequences count: the straight push would knock the yellow block, which
# stands on the line; the world model foresees it and the agent goes round (clutter family).
DEMO_SCENARIO, DEMO_SEED = "clutter", 10000
DEMO_INSTRUCTION = "Push the red block into the blue zone, then go to the orange zone."
DEMO_TRUTH = "push red block into blue zone; go to orange zone"


def _shown(runner, episode, as_json: bool = False):
    """Run `episode(on_event)` with live progress, then print the summary table; with
    `as_json` the progress goes to stderr and the episode record, as JSON, to stdout."""
    out = quiet if as_json else console
    show = EventRenderer(out, steps_for=runner.budgets.steps_for)
    try:
        record = episode(show)
    finally:
        show.close()
    from agent.api import ENDED

    if as_json:
        print(record.model_dump_json(indent=1))
    elif record.status not in ENDED:  # a reply was printed as it came
        console.print(summary_table(record))
    return record


def _subgoal_list(text: str | None):
    from scenarios.subgoals import Subgoal

    if not text:
        return None
    return [Subgoal.parse(part) for part in text.split(";") if part.strip()]


def run(
    instruction: Annotated[str | None, typer.Argument(
        help="What the agent should do (not needed with --resume).")] = None,
    scenario: Annotated[str, typer.Option(help="Scenario name.")] = "push",
    seed: Annotated[int, typer.Option(min=0, max=MAX_SEED, help="Scene seed.")] = 0,
    agent: Annotated[str | None, typer.Option(
        help="Agent kind (hybrid, hybrid-blind, hybrid-careful, llm-skills, llm-only, "
             "wm-only, oracle-plan, oracle-sim, oracle-script); "
             "default hybrid, or the resumed run's.")] = None,
    llm: Annotated[str | None, typer.Option(help="'embedded', a server URL, or "
                                                 "'scripted:FILE'.")] = None,
    subgoals: Annotated[str | None, typer.Option(
        help="Ground truth, ';'-separated, e.g. 'push red block into green zone; go to home "
             "pad' (oracle agents need it; others are then judged against it).")] = None,
    video: Annotated[Path | None, typer.Option(help="Write an MP4 or GIF of the episode.")
                     ] = None,
    resume: Annotated[str | None, typer.Option(
        help="Continue this thread (an interrupted run, or one waiting for --answer).")] = None,
    answer: Annotated[str | None, typer.Option(help="Answer to a pending question.")] = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print the episode record as JSON on stdout (the reply under 'reply', "
                       "control steps under 'steps'); progress goes to stderr.")] = False,
    obs: Annotated[str | None, typer.Option(help="What the world model reads: state (the "
                                                 "default), or pixels (camera frames; shipped "
                                                 "for every family). A resumed run "
                                                 "reads what it read before.")] = None,
) -> int:
    """Run one episode and print its plan, progress and outcome. Exit code 0: the goal was
    reached, or the message was answered without moving anything; 3: it was not."""
    from agent.api import ENDED, check_instruction
    from agent.kinds.registry import make_agent

    if resume:
        agent, obs = _resumed(resume, agent, obs)
    elif instruction is None:
        raise ValueError("say what the agent should do: wmagent run 'push the red block into "
                         "the blue zone', or continue a run with --resume THREAD")
    else:
        check_instruction(instruction, needed=not subgoals)
    agent = agent or "hybrid"
    runner = make_agent(agent, llm=llm, obs=obs or "state")
    if resume:
        record = _shown(runner, lambda show: runner.resume(resume, answer=answer, on_event=show,
                                                           video=video), as_json)
    else:
        record = _shown(runner, lambda show: runner.run(
            scenario, instruction, seed=seed, subgoals=_subgoal_list(subgoals), video=video,
            on_event=show), as_json)
    out = quiet if as_json else console
    if record.question:
        out.print(f"answer with: wmagent run --resume {record.thread_id} --answer '...'")
    if record.video:
        out.print(escape(f"video: {record.video}"), soft_wrap=True)
    out.print(f"thread: {record.thread_id}")
    return 0 if record.success or record.status in ENDED else 3


def _resumed(thread: str, agent: str | None, obs: str | None) -> tuple[str, str]:
    """(agent kind, observation) of the run `thread` continues; a different --obs is refused."""
    from agent.runs.store import RunStore

    info = RunStore().run_info(thread)
    if info is None:
        raise ValueError(f"no run with thread id {thread!r}; `wmagent runs` lists them")
    if obs is not None and obs != info["obs"]:
        raise ValueError(f"thread {thread} ran with --obs {info['obs']}; resume it with "
                         f"the same (or without --obs)")
    return agent or info["agent"], info["obs"]


def demo(
    video: Annotated[Path, typer.Option(help="Where to write the video.")] = Path(
        "out/demo.mp4"),
    agent: Annotated[str, typer.Option(help="Agent kind.")] = "hybrid",
    llm: Annotated[str | None, typer.Option(help="'embedded' (default) or a server URL.")
                   ] = None,
) -> int:
    """The README's main job: the embedded LLM and a shipped world model solve a two-step
    instruction in a scene where the straight way would knock a block away; the video shows
    the true MuJoCo episode."""
    from agent.kinds.registry import make_agent

    console.print(f"[bold]{DEMO_INSTRUCTION}[/] ({DEMO_SCENARIO}, seed {DEMO_SEED})")
    runner = make_agent(agent, llm=llm)
    record = _shown(runner, lambda show: runner.run(
        DEMO_SCENARIO, DEMO_INSTRUCTION, seed=DEMO_SEED, subgoals=_subgoal_list(DEMO_TRUTH),
        video=video, on_event=show))
    console.print(f"LLM: {record.llm}\nworld model: {record.world_model}\nvideo: {record.video}")
    return 0 if record.success else 3


def runs(limit: Annotated[int, typer.Option(min=1, help="How many.")] = 20) -> None:
    """List recent runs (thread ids to resume)."""
    from agent.runs.store import RunStore

    table = Table("thread", "agent", "scenario", "seed", "status", "instruction")
    rows = RunStore().runs(limit)
    for r in rows:
        table.add_row(escape(r["thread_id"]), escape(r["agent"]), escape(r["scenario"]),
                      str(r["seed"]), r["status"],
                      escape(r["instruction"].replace("\n", " ")[:40]))
    console.print(table)
    if any(r["status"] in ("interrupted", "needs_clarification") for r in rows):
        console.print("continue one with: wmagent run --resume THREAD "
                      "(add --answer '...' to one that asked a question)")


def register(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("demo")(demo)
    app.command("runs")(runs)
