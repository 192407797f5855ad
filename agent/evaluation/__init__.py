"""The evaluation harness: suites, sweeps (local pool or Ray), SQLite results and reports.

`evaluate(...)` is what `wmagent eval` calls; the pieces are importable on their own:
`load_suite`, `run_sweep`, `write_report`, `wilson`.
"""

from __future__ import annotations

from pathlib import Path

from agent.evaluation.metrics import wilson
from agent.evaluation.report import write_report
from agent.evaluation.runner import AgentBuildError, SweepConfig, run_sweep
from agent.evaluation.suites import Episode, Suite, SuiteFileError, builtin_names, load_suite


def evaluate(suite: str | Path, agents: list[str], out: str | Path, episodes: int | None = None,
             workers: int = 1, ray: str | None = None, llm: str | None = None,
             retry_errors: bool = False, new: bool = False, command: str = "",
             console=None, obs: str = "state", candidates: int = 4,
             planner_seed: int = 0) -> dict:
    """Load the suite, run what is missing with a progress bar, write the report; return the
    summary (as in summary.json). With `new`, agents whose stored rows were made by another
    configuration run afresh; without it such a sweep is refused (`StoredElsewise`)."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = console or Console()
    the_suite = load_suite(suite, episodes)  # every suite-file problem is raised before a run
    cfg = SweepConfig(tuple(agents), Path(out), workers=workers, ray=ray, llm=llm,
                      retry_errors=retry_errors, new=new, command=command, obs=obs,
                      candidates=candidates, planner_seed=planner_seed)
    wins = {a: 0 for a in agents}
    with Progress(TextColumn("eval {task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), TimeRemainingColumn(), console=console) as bar:
        task = bar.add_task(the_suite.name, total=None)

        def on_row(row: dict) -> None:
            wins[row["agent"]] += row["success"]
            bar.update(task, advance=1, description=f"{the_suite.name} " + " ".join(
                f"{a}:{n}" for a, n in wins.items()))

        store = run_sweep(the_suite, cfg, on_start=lambda n: bar.update(task, total=n),
                          on_row=on_row)
    summary = write_report(store, the_suite, list(agents), cfg.out)
    store.close()
    return summary


__all__ = ["AgentBuildError", "Episode", "Suite", "SuiteFileError", "SweepConfig",
           "builtin_names", "evaluate", "load_suite", "run_sweep", "wilson", "write_report"]
