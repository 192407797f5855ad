"""`wmagent scenarios ...` and `wmagent collect`: look at scenes and gather data."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from agent.cli.limits import MAX_SEED
from agent.cli.worldmodel import collect_env

console = Console()
scenarios_app = typer.Typer(help="List and inspect the registered scenarios.",
                            no_args_is_help=True)


def _check_scenario(name: str) -> str:
    import scenarios

    scenarios.get(name)  # raises ValueError naming the known scenarios
    return name


@scenarios_app.command("list")
def list_scenarios(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List the registered scenario families."""
    import scenarios

    rows = [{"name": s.name, "contents": s.summary, "example": s.example}
            for s in map(scenarios.get, scenarios.names())]
    if as_json:
        print(json.dumps(rows, indent=1))
        return
    table = Table("name", "contents", "typical instruction", title="scenarios")
    for r in rows:
        table.add_row(r["name"], r["contents"], f'"{r["example"]}"')
    console.print(table)


@scenarios_app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="Scenario name (see `wmagent scenarios list`).")],
    seed: Annotated[int, typer.Option(min=0, max=MAX_SEED, help="Layout seed.")] = 0,
    png: Annotated[Path | None, typer.Option(help="Write a rendered top-down frame here.")] = None,
    size: Annotated[int, typer.Option(min=16, max=640, help="Frame side in pixels.")] = 320,
    as_json: Annotated[bool, typer.Option("--json", help="Print the description as JSON.")] = False,
) -> None:
    """Describe one seeded scene: its objects, targets, rooms and state layout."""
    from scenarios import world_for
    from scenarios.scene import SceneDescription

    world = world_for(_check_scenario(name), seed)
    scene = SceneDescription.from_layout(world.layout)
    if as_json:
        print(scene.model_dump_json(indent=1))
    else:
        table = Table("name", "kind", "position", "room", title=f"{name}, seed {seed}")
        for t in scene.objects + scene.targets:
            table.add_row(t.name, t.kind, f"({t.position[0]:+.2f}, {t.position[1]:+.2f})",
                          t.room or "")
        console.print(table)
        for d in scene.doorways:
            console.print(f"{d.name}: joins the {d.rooms[0]} and the {d.rooms[1]} at "
                          f"({d.position[0]:+.2f}, {d.position[1]:+.2f})")
        fields = ", ".join(f"{f.start}:{f.stop} {f.name}" for f in world.spec.fields)
        console.print(f"state vector ({world.spec.dim}): {fields}", highlight=False)
    if png is not None:
        import imageio.v3 as iio

        png.parent.mkdir(parents=True, exist_ok=True)
        iio.imwrite(png, world.render(width=size))
        console.print(f"wrote {png}")


def collect(
    name: Annotated[str | None, typer.Argument(help="Scenario name (or --env).")] = None,
    episodes: Annotated[int, typer.Option(min=1, help="Episodes to collect.")] = 1000,
    out: Annotated[Path, typer.Option(help="Output directory (resumed if it exists).")] = Path(
        "data/collect"),
    steps: Annotated[int | None, typer.Option(min=1, help="Control steps per episode "
                                              "(scenes: 100; --env: until the env ends).")]
    = None,
    seed: Annotated[int, typer.Option(min=0, max=MAX_SEED, help="First scene seed.")] = 0,
    pixels: Annotated[int, typer.Option(min=0, help="Also store frames of this side (32, 48, "
                                        "64 or 96); 0: no.")] = 0,
    shard_size: Annotated[int, typer.Option(min=1, help="Episodes per shard file.")] = 256,
    scatter: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of episodes whose "
                                           "blocks start at random places.")] = 0.0,
    env: Annotated[str | None, typer.Option(help="A Gymnasium env id instead of a scenario "
                                            "(module:Env-v0 imports module).")] = None,
    policy: Annotated[str, typer.Option(help="--env: random or MODULE:CALLABLE.")] = "random",
    obs_key: Annotated[str | None, typer.Option(help="--env: entry of a Dict observation.")]
    = None,
    pixels_key: Annotated[str | None, typer.Option(help="--env --pixels: take the frames from "
                                                   "this Dict observation entry instead of "
                                                   "rendering them.")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Scenes: processes that make shards "
                                         "(the same episodes as one).")] = 1,
) -> None:
    """Collect episodes (random, noisy-scripted, scripted) into safetensors shards."""
    from scenarios.collect import CollectConfig
    from scenarios.collect import collect as run_collect

    if env is not None or name is None:
        if env is None:
            raise ValueError("name a scenario (`wmagent scenarios list`) or a Gymnasium env "
                             "with --env ENV_ID")
        return collect_env(env, episodes, out, policy, seed, steps, obs_key, pixels or None,
                           pixels_key)
    steps = 100 if steps is None else steps
    cfg = CollectConfig(_check_scenario(name), episodes, steps=steps, seed=seed, pixels=pixels,
                        shard_size=shard_size, scatter=scatter)
    start = time.perf_counter()
    with Progress(TextColumn("collect {task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=console, transient=False) as bar:
        task = bar.add_task(name, total=episodes)
        run_collect(cfg, out, progress=lambda n: bar.update(task, completed=n), workers=workers)
    secs = time.perf_counter() - start
    console.print(f"{episodes} episodes x {steps} steps in {out} "
                  f"({episodes * steps / max(secs, 1e-9):,.0f} transitions/s)")


def register(app: typer.Typer) -> None:
    app.add_typer(scenarios_app, name="scenarios")
    app.command("collect")(collect)
