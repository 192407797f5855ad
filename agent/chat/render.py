"""Showing an agent's events in a terminal: plan tables, live progress, outcomes, summaries.

`EventRenderer` is the `on_event` callback of `Agent.run`/`Agent.resume`. It needs only a rich
`Console`, so `wmagent run` and `wmagent chat` share it. It fits 80 columns and relies on words,
not colour, so it reads the same with `NO_COLOR` set or over a slow SSH link. On a terminal,
long operations (the LLM thinking, the MPC loop) show a live line that is replaced, not
scrolled; elsewhere (a pipe, a log file) progress is printed every `log_every` steps.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
from rich.console import Console, Group
from rich.markup import escape as escape_markup
from rich.panel import Panel
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.status import Status
from rich.table import Table
from rich.text import Text

from agent.graph import events as ev
from agent.runs.records import EpisodeRecord
from scenarios.layout import Layout
from scenarios.scene import SceneDescription
from scenarios.side_effects import broken
from scenarios.subgoals import Subgoal
from scenarios.world import agent_pos, block_pos

# C0 and C1 control characters and DEL: ESC starts ANSI colours and OSC titles, CR and BS
# overwrite what is already on the line. Tab and newline are left to the caller.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def escape(text: str) -> str:
    """`text` safe to print through Rich: control characters shown as `\\xNN` (so an ANSI or
    OSC sequence in something a person typed cannot recolour or retitle the terminal) and
    Rich markup escaped (so `[bold red]` prints as itself). Everything user- or LLM-written
    passes through here before it reaches a console."""
    return escape_markup(_CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text)))


def subgoal_text(s: dict | Subgoal) -> str:
    return Subgoal.model_validate(s).text()


def plan_table(plan: list[dict] | list[Subgoal], title: str = "plan",
               predicted: dict[int, bool] | None = None) -> Table:
    """The plan as a table; with `predicted` (index -> reached in imagination), a column."""
    table = Table("#", "skill", "object", "target", title=title, title_justify="left")
    if predicted:
        table.add_column("imagined")
    for i, s in enumerate(plan):
        s = Subgoal.model_validate(s)
        row = [str(i + 1), s.skill, s.object, s.target]
        if predicted:
            row.append(_verdict(predicted.get(i)))
        table.add_row(*map(escape, row))
    return table


STYLES = {"red": "red", "green": "green", "blue": "blue", "yellow": "yellow",
          "purple": "magenta", "orange": "dark_orange", "home": "bold"}


def scene_map(layout: Layout, state: np.ndarray, width: int = 33) -> Text:
    """A top-down character map: `@` the agent, capitals blocks, `!` a glass (`x` once
    broken), small letters the pads and zones of that colour (`h` home), `#` walls; north is
    up. Readable without colour."""
    a = layout.arena_half
    height = width // 2 + 1  # a character cell is about twice as tall as wide
    cw, ch = 2 * a / width, 2 * a / height
    xs = -a + (np.arange(width) + 0.5) * cw
    ys = a - (np.arange(height) + 0.5) * ch
    grid = [[(" ", "")] * width for _ in range(height)]

    def put(x: float, y: float, mark: str, style: str) -> None:
        c = int(np.clip((x + a) / cw, 0, width - 1))
        r = int(np.clip((a - y) / ch, 0, height - 1))
        grid[r][c] = (mark, style)

    # The panel's border already draws the outer walls.
    inner = [w for w in layout.walls if max(abs(w.pos[0]), abs(w.pos[1])) < a - 0.05]
    for w in inner:
        for r, y in enumerate(ys):
            for c, x in enumerate(xs):
                if abs(x - w.pos[0]) <= w.half[0] + cw / 2 and (
                        abs(y - w.pos[1]) <= w.half[1] + ch / 2):
                    grid[r][c] = ("#", "dim")
    for t in layout.targets:
        mark, style = t.colour[0].lower(), STYLES.get(t.colour, "")
        for r, y in enumerate(ys):
            for c, x in enumerate(xs):
                if np.hypot(x - t.pos[0], y - t.pos[1]) <= t.radius:
                    grid[r][c] = (mark, style)
        put(*t.pos, mark, style)
    for i, b in enumerate(layout.blocks):
        if b.fragile:
            put(*block_pos(state, i), "x" if broken(layout, state, i) else "!", "bold cyan")
        else:
            put(*block_pos(state, i), b.colour[0].upper(), "bold " + STYLES[b.colour])
    put(*agent_pos(state), "@", "bold")
    text = Text()
    for r, row in enumerate(grid):
        for mark, style in row:
            text.append(mark, style)
        if r < height - 1:
            text.append("\n")
    return text


def scene_view(layout: Layout, state: np.ndarray) -> Table:
    """The map beside a legend with every named thing's position (metres)."""
    scene = SceneDescription.from_layout(layout, state)
    legend = Table.grid(padding=(0, 1))
    for t in scene.objects + scene.targets:
        if t.kind == "agent":
            mark = "@"
        elif t.kind == "block":
            mark = (t.colour or "?")[0].upper()
        elif t.kind == "glass":
            glass = layout.block_index(t.name)
            mark = "x" if broken(layout, state, glass) else "!"
        else:
            mark = (t.colour or "?")[0].lower()
        room = f" {t.room}" if t.room else ""
        name = t.name + (" (broken)" if mark == "x" else "")
        legend.add_row(mark, escape(name), f"{t.position[0]:+.2f} {t.position[1]:+.2f}"
                       + escape(room))
    grid = Table.grid(padding=(0, 2))
    title = f"{scene.scenario} seed {scene.seed}"
    grid.add_row(Panel(scene_map(layout, state), title=title, expand=False, padding=0),
                 Group("north is up", legend))
    return grid


def summary_table(record: EpisodeRecord) -> Table:
    """The end of an episode: verdict, subgoals, steps, time and LLM tokens."""
    verdict = "success" if record.success else record.status
    if not record.success and record.reason:
        verdict += f": {record.reason}"
    tokens = record.prompt_tokens + record.completion_tokens
    table = Table(show_header=False, title="summary", title_justify="left", box=None)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("result", escape(verdict))
    if record.avoid:
        kept = [n for n in record.avoid if n not in record.disturbed]
        table.add_row("left alone", escape(", ".join(kept) or "none")
                      + (f"; disturbed: {escape(', '.join(record.disturbed))}"
                         if record.disturbed else ""))
    if record.side_effects:
        table.add_row("side effects", escape("; ".join(e["text"] for e in record.side_effects)))
    table.add_row("subgoals", f"{record.subgoals_done}/{record.subgoals_total} achieved"
                  + (f", {record.revisions} revision(s)" if record.revisions else ""))
    ms = record.decision_ms_median
    table.add_row("steps", f"{record.steps} control steps in {record.seconds:.1f} s"
                  + (f" ({ms:.0f} ms/decision)" if ms is not None and ms >= 10 else
                     f" ({ms:.1f} ms/decision)" if ms is not None else ""))
    table.add_row("LLM", f"{record.llm_calls} call(s), {tokens} tokens "
                  f"({record.prompt_tokens} in, {record.completion_tokens} out), "
                  f"{record.llm_seconds:.1f} s")
    table.add_row("thread", record.thread_id)
    return table


def _verdict(ok: bool | None) -> str:
    if ok is None:
        return "-"
    return "reached" if ok else "not reached"


class EventRenderer:
    """Prints agent events as they stream in; call `close()` when the run ends or stops."""

    def __init__(self, console: Console, live: bool | None = None, log_every: int = 50,
                 steps_for: Callable[[Subgoal], int] | None = None):
        """`live`: replace a progress line in place (default: when the console is a
        terminal). `steps_for`: a subgoal's step budget, to draw a bar against."""
        self.console = console
        self.live = console.is_terminal if live is None else live
        self.log_every = log_every
        self.steps_for = steps_for
        self.predicted: dict[int, bool] = {}
        """subgoal index -> whether imagination predicted it reached"""
        self._status: Status | None = None
        self._progress: Progress | None = None
        self._task = None
        self._first_step = 0
        self._first_energy: float | None = None
        self._last_logged = 0
        self._running: int | None = None  # index of the subgoal being shown

    # --- the callback ---------------------------------------------------------------------
    def __call__(self, event: ev.Event) -> None:
        handler = getattr(self, "_on_" + event.kind, None)
        if handler is not None:
            handler(event)

    def close(self) -> None:
        """Stop any live display (before prompting the person, or after the run)."""
        self._stop_status()
        self._stop_progress()

    # --- events ---------------------------------------------------------------------------
    def _on_perceived(self, event: ev.Perceived) -> None:
        self._spin("the LLM is decomposing the goal")

    def _on_question(self, event: ev.Question) -> None:
        self.close()
        self.console.print(f"[bold]agent asks:[/] {escape(event.question)}")

    def _on_replied(self, event: ev.Replied) -> None:
        self.close()
        self.console.print(f"[bold]agent:[/] {escape(event.text)}")

    def _on_plan(self, event: ev.PlanMade) -> None:
        self.close()
        if event.unchanged:  # the same table again would read as a change
            self.console.print("  the plan stands as it was: acting on it despite the "
                               "prediction" + (f" ({escape(event.reason)})" if event.reason
                                               else ""))
            return
        if event.revised:
            self.predicted.clear()
        self.console.print(plan_table(event.plan, "revised plan" if event.revised else "plan"))
        for p in [*event.problems, *([event.reason] if event.revised and event.reason else [])]:
            self.console.print(f"  note: {escape(p)}")
        self._spin("checking the plan")

    def _on_imagined(self, event: ev.Imagined) -> None:
        self.predicted[event.index] = event.ok
        head = f"  imagined {event.index + 1}: {escape(subgoal_text(event.subgoal))} ->"
        if event.ok:
            self.console.print(f"{head} reached")
        elif not event.trusted:
            self.console.print(f"{head} not reached going round, a prediction too often "
                               f"wrong there to revise the plan for: {escape(event.reason)}")
        else:
            self.console.print(f"{head} [bold]not reached[/]: {escape(event.reason)}")

    def _on_foresaw(self, event: ev.Foresaw) -> None:
        self.console.print(f"  foresight: {escape(event.text())}")

    def _on_chose(self, event: ev.Chose) -> None:
        self.console.print(f"  critic: {escape(event.text())}")

    def _on_subgoal_started(self, event: ev.SubgoalStarted) -> None:
        s = Subgoal.model_validate(event.subgoal)
        attempt = f" (attempt {event.attempt})" if event.attempt > 1 else ""
        self._start_progress(event.index, f"{event.index + 1}. {s.text()}{attempt}",
                             self.steps_for(s) if self.steps_for else None)

    def _start_progress(self, index: int, title: str, total: int | None) -> None:
        self.close()
        self._running = index
        self._first_step, self._first_energy, self._last_logged = -1, None, 0
        self.console.print(escape(title))
        if self.live:  # one short line under the title, so that it fits 80 columns
            self._progress = Progress(
                TextColumn("  "), SpinnerColumn(), BarColumn(bar_width=12),
                TextColumn("{task.fields[info]}"), TimeElapsedColumn(),
                console=self.console, transient=True)
            self._task = self._progress.add_task("", total=total, info="")
            self._progress.start()

    def _on_mpc_step(self, event: ev.MpcStep) -> None:
        if self._running != event.index:  # a resumed run continues a subgoal
            self._start_progress(event.index, f"{event.index + 1}. (continued)", None)
        if self._first_step < 0:
            self._first_step = event.step - 1
        done = event.step - self._first_step
        energy = event.energy
        if energy is not None and self._first_energy is None:
            self._first_energy = energy
        info = f"step {done}"
        if energy is not None:
            info += f" energy {energy:.3f}"
            if self._first_energy is not None and energy < self._first_energy:
                info += " falling"
        if event.decision_ms is not None:
            ms = event.decision_ms
            info += f" {ms:.0f} ms" if ms >= 10 else f" {ms:.1f} ms"
        if self._progress is not None:
            self._progress.update(self._task, completed=done, info=info)
        elif done - self._last_logged >= self.log_every:
            self._last_logged = done
            self.console.print(f"  ... {info}")

    def _on_subgoal_done(self, event: ev.SubgoalDone) -> None:
        self._stop_progress()
        self._running = None
        if event.success:
            line = f"  done in {event.steps} steps"
        else:
            line = f"  FAILED after {event.steps} steps"
        predicted = self.predicted.get(event.index)
        if predicted is not None:
            line += (", as imagined" if predicted == event.success
                     else f", though imagined {_verdict(predicted)}")
        if not event.success and event.reason:
            line += f": {event.reason}"
        self.console.print(escape(line))

    def _on_revision(self, event: ev.Revision) -> None:
        self.close()
        self.console.print(f"[bold]revising the plan:[/] {escape(event.reason)}")
        self._spin("the LLM is revising the plan")

    def _on_report(self, event: ev.Report) -> None:
        self.close()
        for h in event.holds:  # the verdict of the predicates on the true state, not the plan's
            mark = "holds at the end" if h["holds"] else "[bold]does not hold at the end[/]"
            self.console.print(f"  check: {escape(h['text'])}: {mark}")
        if event.success and not all(h["holds"] for h in event.holds):
            self.console.print("  (each held when it was done, in order; a later subgoal "
                               "moved on from it)")
        for name in event.disturbed:
            self.console.print(f"  check: [bold]the {escape(name)} was disturbed[/], though "
                               "it was to be left alone")
        for text in event.side_effects:
            self.console.print(f"  check: [bold]side effect: {escape(text)}[/]")

    # --- live helpers ---------------------------------------------------------------------
    def _spin(self, text: str) -> None:
        self._stop_status()
        if self.live:
            self._status = self.console.status(text + "...")
            self._status.start()

    def _stop_status(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def _stop_progress(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
