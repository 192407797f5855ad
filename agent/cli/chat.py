"""`wmagent chat`: talk to the agent in a terminal (see `agent.chat.session`)."""

from __future__ import annotations

from typing import Annotated

import typer

from agent.cli.limits import MAX_SEED


def chat(
    scenario: Annotated[str, typer.Option(help="Scenario of the scene to start in.")] = "sort",
    seed: Annotated[int, typer.Option(min=0, max=MAX_SEED, help="Scene seed.")] = 0,
    llm: Annotated[str | None, typer.Option(help="'embedded', a server URL, or "
                                                 "'scripted:FILE' (tests).")] = None,
    resume: Annotated[str | None, typer.Option(
        help="Continue a chat session (its id) or a run (its thread id).")] = None,
    obs: Annotated[str, typer.Option(help="What the world model reads: state, or pixels "
                                          "(camera frames; shipped for every family).")]
    = "state",
) -> int:
    """Type goals and watch the agent plan, imagine and act; /help lists the commands."""
    from agent.chat.session import start

    return start(scenario, seed, llm, resume, obs=obs)


def register(app: typer.Typer) -> None:
    app.command("chat")(chat)
