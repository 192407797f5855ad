"""The terminal chat: type a goal, watch it decomposed, imagined and executed, correct it.

Each goal typed is one agent run (a LangGraph thread) in the session's scene, starting where
the last episode left the scene. Lines that start with `/` are commands (`/help`). The chat
gets everything it acts with from a `ChatServices` (the agent, and optionally an LLM to
describe, a decomposer for `/plan`, an imagination function for `/imagine`), built by a
factory: `default_services` for real use, or the one named by `$WMAGENT_CHAT_FACTORY`
(`module:function`, for tests). The session lives in SQLite (`agent.chat.store`), so a chat
killed at any point comes back with `wmagent chat --resume SESSION`, an episode it was running
included.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib
import logging
import os
import re
import signal
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from rich.console import Console
from rich.table import Table

from agent.api import ENDED, Agent
from agent.chat.render import EventRenderer, escape, plan_table, scene_view, summary_table
from agent.chat.store import ChatSession, ChatStore
from agent.graph import events as ev
from agent.graph.contracts import Decomposer
from agent.kinds.registry import make_agent
from agent.llm.base import LLMError
from agent.runs.records import EpisodeRecord
from scenarios.registry import get
from scenarios.scene import SceneDescription
from scenarios.subgoals import Subgoal
from scenarios.world import World
from tools.imagination import Imagination
from tools.scene import describe, mover_pos

log = logging.getLogger("wmagent.chat")

FACTORY_ENV = "WMAGENT_CHAT_FACTORY"


# --- what the chat is given ---------------------------------------------------------------
class LLMInfo(Protocol):
    """What `/llm` shows: `agent.llm.LLMBackend` satisfies it."""

    def describe(self) -> str:
        """One line: backend, model and adapter."""
        ...

    def health(self) -> str:
        """One line saying the backend is usable; raises (with the fix) when it is not."""
        ...


ImagineFn = Callable[[World, np.ndarray, Subgoal], Imagination]
"""`imagine(world, state, subgoal)`: predict, without moving `world`, what planning for
`subgoal` from `state` (S,) leads to: the contract of `agent.graph.contracts.Imaginer`, so an
imaginer's bound `imagine` fits as it is."""


@dataclass
class ChatServices:
    """The agent the chat runs goals with, and what its commands need besides."""

    agent: Agent
    """runs every goal (`Agent.run`) and resumes threads (`Agent.resume`)"""
    llm: LLMInfo | None = None
    """shown by `/llm`; default: the decomposer's `backend` attribute, or the decomposer
    itself when it has `describe()` and `health()`"""
    decomposer: Decomposer | None = None
    """`/plan`, and `/imagine` with free text; default: the agent's own decomposer"""
    imagine: ImagineFn | None = None
    """`/imagine`; default: the `imagine` method of the agent's imaginer"""

    def __post_init__(self):
        res = self.agent.resources
        if self.decomposer is None:
            self.decomposer = res.decomposer
        if self.imagine is None and res.imaginer is not None:
            self.imagine = res.imaginer.imagine
        if self.llm is None:
            for candidate in (getattr(self.decomposer, "backend", None), self.decomposer):
                if hasattr(candidate, "describe") and hasattr(candidate, "health"):
                    self.llm = candidate
                    break


ServicesFactory = Callable[[str | None, Path | None], ChatServices]
"""`factory(llm, home)`: the services for LLM spec `llm` ('embedded', a URL,
'scripted:FILE', or None for the default) with the run store in `home`."""


def default_services(llm: str | None, home: Path | None, obs: str = "state") -> ChatServices:
    """The hybrid agent (LLM decomposition, world-model imagination and MPC); `obs`: what its
    world model reads, the state or camera frames ('pixels')."""
    agent = make_agent("hybrid", llm=llm, home=home, obs=obs)
    assert isinstance(agent, Agent)
    return ChatServices(agent)


def load_factory() -> ServicesFactory:
    """`default_services`, or the factory named by `$WMAGENT_CHAT_FACTORY` (module:function)."""
    name = os.environ.get(FACTORY_ENV)
    if not name:
        return default_services
    module, _, attr = name.partition(":")
    if not attr:
        raise ValueError(f"{FACTORY_ENV}={name!r}: write it as module:function")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as e:
        raise ValueError(f"{FACTORY_ENV}={name!r} cannot be loaded: {e}") from None


# --- reading lines ------------------------------------------------------------------------
class PlainReader:
    """Lines from stdin (a pipe or a dumb terminal); a line ending in '\\' continues."""

    def read(self, prompt: str) -> str:
        lines = [input(prompt)]
        while lines[-1].endswith("\\"):
            lines[-1] = lines[-1][:-1]
            lines.append(input("... "))
        return "\n".join(lines)


class PromptReader:
    """prompt_toolkit line editing with a persistent history.

    Enter sends; Esc Enter (Alt-Enter) or a line ending in '\\' starts a new line.
    """

    def __init__(self, history: Path):
        from prompt_toolkit import PromptSession
        from prompt_toolkit.history import FileHistory
        from prompt_toolkit.key_binding import KeyBindings

        keys = KeyBindings()

        @keys.add("enter")
        def _send(event):
            buf = event.current_buffer
            if buf.text.endswith("\\"):
                buf.text = buf.text[:-1] + "\n"
                buf.cursor_position = len(buf.text)
            else:
                buf.validate_and_handle()

        @keys.add("escape", "enter")
        def _newline(event):
            event.current_buffer.insert_text("\n")

        history.parent.mkdir(parents=True, exist_ok=True)
        self.session = PromptSession(history=FileHistory(str(history)), key_bindings=keys,
                                     multiline=True, prompt_continuation="... ")

    def read(self, prompt: str) -> str:
        return self.session.prompt(prompt)


# --- Ctrl-C while an episode runs ---------------------------------------------------------
class EpisodeStopped(Exception):
    """The person asked to stop the running episode."""


class StopOnInterrupt:
    """While active, the first Ctrl-C asks the episode to stop at its next event (a clean
    stop at a checkpoint); a second one interrupts whatever runs (an LLM call, say)."""

    def __init__(self, console: Console):
        self.console = console
        self.requested = False
        self._previous: Any = None

    def __enter__(self) -> StopOnInterrupt:
        self.requested = False
        self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        signal.signal(signal.SIGINT, self._previous)

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        self.console.print("stopping the episode at the next step (Ctrl-C again to force)")

    def check(self) -> None:
        if self.requested:
            raise EpisodeStopped

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Ordinary Ctrl-C (KeyboardInterrupt) while the person types an answer."""
        saved = signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, saved)


# --- the chat -----------------------------------------------------------------------------
COMMANDS: dict[str, tuple[str, str]] = {
    "help": ("", "this list"),
    "scenario": ("NAME [SEED]", "switch to another scene, at its start"),
    "reset": ("", "put the scene back to its start state"),
    "scene": ("", "what is where, now"),
    "imagine": ("TEXT", "what would happen if... (predicted; nothing moves)"),
    "plan": ("TEXT", "decompose a goal without acting"),
    "render": ("[FILE]", "write a PNG of the scene as it is now"),
    "video": ("on|off", "write a video of every episode"),
    "llm": ("", "the LLM backend, its model and its health"),
    "history": ("", "this conversation"),
    "threads": ("[all]", "runs of this session; all: every run and session"),
    "resume": ("ID", "continue a run or a chat session, by its id"),
    "quit": ("", "leave the chat (Ctrl-D does too)"),
}
ALIASES = {"exit": "quit", "q": "quit", "h": "help", "?": "help"}
_THEN = re.compile(r"\s*(?:;|,?\s*(?:\band\s+)?\bthen\b)\s*", re.IGNORECASE)


class Chat:
    """One chat session: reads lines, runs goals and commands, keeps the session on disk."""

    def __init__(self, services: ChatServices, console: Console, reader: Any,
                 session: ChatSession, store: ChatStore):
        self.services, self.console, self.reader = services, console, reader
        self.session, self.store = session, store
        self.agent = services.agent
        self.home = self.agent.store.home
        self._world: World | None = None
        self._stop = StopOnInterrupt(console)

    @classmethod
    def open(cls, services: ChatServices, console: Console, reader: Any, scenario: str,
             seed: int, resume: str | None = None) -> Chat:
        """A new session in `scenario`/`seed`, or the session or run named by `resume`."""
        store = ChatStore(services.agent.store.conn)
        session = store.find(resume) if resume else None
        if session is None:
            info = _find_run(services.agent, resume) if resume else None
            if resume and info is None:
                raise ValueError(f"no chat session or run {resume!r}; `wmagent runs` lists "
                                 "runs, and /threads all lists chat sessions")
            get(scenario).layout(seed)  # a bad name or seed fails before the session exists
            session = store.create(info["scenario"] if info else scenario,
                                   info["seed"] if info else seed)
            chat = cls(services, console, reader, session, store)
            chat.banner()
            if info:
                chat.resume_thread(info["thread_id"])
            return chat
        chat = cls(services, console, reader, session, store)
        chat.banner(resumed=True)
        if session.active_thread:
            console.print(f"the episode {session.active_thread} was cut off; continuing it")
            chat.resume_thread(session.active_thread)
        return chat

    # --- the loop -------------------------------------------------------------------------
    def loop(self) -> int:
        """Read and handle lines until /quit, Ctrl-D, or Ctrl-C twice at the prompt."""
        armed = False
        while True:
            try:
                line = self.reader.read(self.prompt())
            except KeyboardInterrupt:
                if armed:
                    break
                armed = True
                self.console.print("(Ctrl-C again or Ctrl-D to quit)")
                continue
            except EOFError:
                break
            armed = False
            if not self.handle(line):
                break
        totals = self.totals()
        if totals:
            self.console.print(totals)
        self.console.print(f"session {self.session.session_id} saved; continue it with: "
                           f"wmagent chat --resume {self.session.session_id}")
        return 0

    def totals(self) -> str:
        """One line over the session's finished runs: successes, steps, time, tokens."""
        records = [info["record"] for t in self.session.threads
                   if (info := self.agent.store.run_info(t)) and info["record"]
                   and info["status"] in ("done", "failed")]
        if not records:
            return ""
        wins = sum(r["success"] for r in records)
        tokens = sum(r["prompt_tokens"] + r["completion_tokens"] for r in records)
        return (f"{wins}/{len(records)} goals achieved, {sum(r['steps'] for r in records)} "
                f"steps, {sum(r['seconds'] for r in records):.1f} s, {tokens} LLM tokens")

    def prompt(self) -> str:
        return f"{self.session.scenario}/{self.session.seed}> "

    def handle(self, line: str) -> bool:
        """Act on one input line; False when the chat should end."""
        line = line.strip()
        if not line:
            return True
        try:
            if line.startswith("/"):
                return self.command(line)
            self.run_goal(line)
        except (ValueError, LLMError) as e:  # errors a person can act on: one line
            self.console.print(f"error: {escape(str(e))}")
        except Exception as e:  # a REPL outlives one failing command; the log has the trace
            log.exception("command %r failed", line)
            self.console.print(f"internal error: {type(e).__name__}: {escape(str(e))} "
                               f"(traceback in {self.home / 'chat.log'})")
        return True

    def command(self, line: str) -> bool:
        name, _, arg = line[1:].partition(" ")
        name, arg = ALIASES.get(name.lower(), name.lower()), arg.strip()
        if name not in COMMANDS:
            near = difflib.get_close_matches(name, COMMANDS, n=1)
            hint = f"did you mean /{near[0]}? " if near else ""
            self.console.print(f"unknown command /{escape(name)}; {hint}/help lists them")
            return True
        if name == "quit":
            return False
        getattr(self, "cmd_" + name)(arg)
        return True

    def usage(self, name: str) -> None:
        args, what = COMMANDS[name]
        self.console.print(escape(f"usage: /{name} {args}".rstrip() + f": {what}"))

    def banner(self, resumed: bool = False) -> None:
        s = self.session
        verb = "resumed" if resumed else "new"
        self.console.print(f"[bold]wmagent chat[/]: {verb} session {s.session_id}, scene "
                           f"{s.scenario} (seed {s.seed}), agent {self.agent.kind}")
        self.cmd_scene("")
        if resumed:
            for m in self.store.messages(s.session_id)[-4:]:
                self.console.print(escape(f"  {m['role']}: {m['text']}"))
        self.console.print("Type a goal, or /help. Ctrl-C stops an episode; Ctrl-D quits.")

    # --- the scene ------------------------------------------------------------------------
    def world(self) -> World:
        """The session's scene, in its current state."""
        s = self.session
        if self._world is None or (self._world.layout.scenario, self._world.layout.seed) != (
                s.scenario, s.seed):
            if self._world is not None:
                self._world.close()
            self._world = World(get(s.scenario).layout(s.seed))
        if s.state is None:
            self._world.reset()
        else:
            self._world.set_state(np.asarray(s.state))
        return self._world

    def scene(self) -> SceneDescription:
        return describe(self.world())

    def note(self, role: str, text: str, thread_id: str | None = None) -> None:
        self.store.add_message(self.session.session_id, role, text, thread_id)

    # --- goals ----------------------------------------------------------------------------
    def run_goal(self, text: str) -> EpisodeRecord | None:
        """Run the goal `text` as one episode from the scene's current state (None: it was
        stopped before its first checkpoint)."""
        s = self.session
        thread = uuid.uuid4().hex[:12]
        self.note("you", text, thread)
        return self._drive(thread, lambda on_event, answer: self.agent.run(
            s.scenario, text, seed=s.seed, thread_id=thread, on_event=on_event, answer=answer,
            start_state=s.state))

    def resume_thread(self, thread: str) -> EpisodeRecord | None:
        """Continue a run that was stopped, cut off, or is waiting for an answer."""
        info = self.agent.store.run_info(thread)
        if info is None:
            raise ValueError(f"no run {thread!r}; /threads lists this session's runs")
        s = self.session
        if (info["scenario"], info["seed"]) != (s.scenario, s.seed):
            s.scenario, s.seed, s.state = info["scenario"], info["seed"], None
            self.console.print(f"switched to the run's scene: {s.scenario} (seed {s.seed})")
        if thread not in s.threads:
            self.note("note", f"resumed run: {info['instruction']}", thread)
        return self._drive(thread, lambda on_event, answer: self.agent.resume(
            thread, answer=answer, on_event=on_event))

    def _drive(self, thread: str,
               call: Callable[[Any, Any], EpisodeRecord]) -> EpisodeRecord | None:
        s = self.session
        if thread not in s.threads:
            s.threads.append(thread)
        s.active_thread = thread  # a crash from here on leaves it set: --resume continues
        self.store.save(s)
        renderer = EventRenderer(self.console, steps_for=self.agent.resources.budgets.steps_for)
        if self.agent.sim_state(thread) is not None:  # resuming: what was imagined before
            for r in self.agent.record(thread).imagination:
                renderer.predicted[r["index"]] = r["ok"]
        asked: list[str] = []

        def on_event(event: dict) -> None:
            self._stop.check()
            if isinstance(event, ev.Question):
                asked.append(event.question)
            renderer(event)

        def answer(question: str) -> str:
            renderer.close()
            if not asked or asked[-1] != question:  # asked before this process started
                self.console.print(f"[bold]agent asks:[/] {escape(question)}")
            self.note("agent", question, thread)
            try:
                with self._stop.paused():
                    reply = self.reader.read("answer> ").strip()
            except (KeyboardInterrupt, EOFError):
                raise EpisodeStopped from None
            self.note("you", reply, thread)
            return reply

        record: EpisodeRecord | None = None
        try:
            with self._stop:
                record = call(on_event, answer)
        except (EpisodeStopped, KeyboardInterrupt):
            pass
        except Exception:
            renderer.close()
            s.active_thread = None  # the error is shown now; --resume need not replay it
            self.store.save(s)
            if self.agent.store.run_info(thread) is not None:
                self.console.print(f"the run failed; /resume {thread} retries it from its last "
                                   "checkpoint")
            raise
        finally:
            renderer.close()
        return self._settle(thread, record)

    def _settle(self, thread: str, record: EpisodeRecord | None) -> EpisodeRecord | None:
        """After a run returned or was stopped: keep where the scene is, and report."""
        s = self.session
        if record is None and self.agent.sim_state(thread) is None:
            s.active_thread = None
            self.store.save(s)
            self.console.print("stopped before the episode began; nothing moved")
            return None
        if record is None:
            record = self.agent.record(thread)
        state = self.agent.sim_state(thread)
        if state is not None:
            s.state = state
        s.active_thread = None
        self.store.save(s)
        self._report(record)
        return record

    def _report(self, rec: EpisodeRecord) -> None:
        if rec.status in ("done", "failed"):
            self.console.print(summary_table(rec))
            self.note("agent", rec.summary(), rec.thread_id)
            if self.session.video:
                self._video(rec)
        elif rec.status in ENDED:  # the reply was printed as it came; nothing moved
            self.note("agent", (rec.reply or {}).get("text", rec.status), rec.thread_id)
        elif rec.status == "needs_clarification":
            self.console.print("the agent waits for an answer;")
            self.console.print(f"/resume {rec.thread_id} to give one")
            self.note("agent", f"waiting for an answer: {rec.question}", rec.thread_id)
        else:
            self.console.print(f"stopped after {rec.steps} steps; the scene stays as the last "
                               "checkpoint left it.")
            self.console.print(f"/resume {rec.thread_id} continues the episode")
            self.note("agent", f"stopped after {rec.steps} steps", rec.thread_id)

    def _video(self, rec: EpisodeRecord) -> None:
        path = self.home / "videos" / f"{rec.thread_id}.mp4"
        with self.console.status("writing the video..."):
            self.agent.write_video(rec.thread_id, path, rec.scenario, rec.seed)
        self.console.print(escape(f"video: {path}"), soft_wrap=True)

    # --- commands -------------------------------------------------------------------------
    def cmd_help(self, arg: str) -> None:
        table = Table("command", "what it does", box=None)
        for name, (args, what) in COMMANDS.items():
            table.add_row(escape(f"/{name} {args}".rstrip()), escape(what))
        self.console.print(table)
        self.console.print("Anything else is a goal for the agent. A line ending in \\ or "
                           "Esc Enter continues on the next line.")

    def cmd_scenario(self, arg: str) -> None:
        parts = arg.split()
        if not parts or len(parts) > 2:
            return self.usage("scenario")
        seed = self.session.seed if len(parts) == 1 else _seed(parts[1])
        get(parts[0]).layout(seed)
        self.session.scenario, self.session.seed, self.session.state = parts[0], seed, None
        self.store.save(self.session)
        self.note("note", f"scene {parts[0]} (seed {seed})")
        self.cmd_scene("")

    def cmd_reset(self, arg: str) -> None:
        self.session.state = None
        self.store.save(self.session)
        self.note("note", "scene reset")
        self.console.print(f"the scene is back at its start ({self.session.scenario}, seed "
                           f"{self.session.seed})")

    def cmd_scene(self, arg: str) -> None:
        world = self.world()
        self.console.print(scene_view(world.layout, world.state()))

    def cmd_plan(self, arg: str) -> None:
        if not arg:
            return self.usage("plan")
        decomposer = self.services.decomposer
        if decomposer is None:
            raise ValueError("this agent has no LLM to decompose with")
        scene = self.scene()
        with self.console.status("the LLM is decomposing..."):
            d = decomposer.decompose(scene, arg)
        self.note("you", f"/plan {arg}")
        if d.question:
            self.console.print(f"[bold]the agent would ask:[/] {escape(d.question)}")
            self.note("agent", f"would ask: {d.question}")
        elif d.reply is not None and not d.reply.moves:
            self.console.print(f"that reads as '{d.reply.intent}', not a goal: nothing to plan "
                               "(send it without /plan for the agent's reply)")
        elif d.plan is None or not d.plan.subgoals:
            why = "; ".join(d.problems) or "no usable plan"
            self.console.print(f"no plan: {escape(why)}")
        else:
            self.console.print(plan_table(d.plan.subgoals, "plan (not executed)"))
            for p in list(d.problems) + scene.problems(d.plan):
                self.console.print(f"  note: {escape(p)}")
            self.note("agent", f"plan: {d.plan.text()}")
        u = d.usage
        if u is not None:
            self.console.print(f"LLM: {u.prompt_tokens + u.completion_tokens} tokens in "
                               f"{u.seconds:.1f} s")

    def cmd_imagine(self, arg: str) -> None:
        if not arg:
            return self.usage("imagine")
        imagine = self.services.imagine
        if imagine is None:
            raise ValueError("no world model to imagine with: this agent has no imaginer")
        subgoals = self._subgoals(arg)
        world = self.world()
        now = world.state()
        state = now
        table = Table("#", "subgoal", "imagined", "where to", title="imagined (nothing moved)",
                      title_justify="left")
        verdicts = []
        try:
            for i, sg in enumerate(subgoals, 1):
                with self.console.status(f"imagining: {sg.text()}..."):
                    r = imagine(world, state, sg)
                who = "agent" if sg.skill == "go" else sg.object
                a = mover_pos(world, sg, state)
                where = f"{who} ({a[0]:+.2f}, {a[1]:+.2f}) -> "
                if r.predicted_state is not None:
                    predicted = np.asarray(r.predicted_state, float)
                    b = mover_pos(world, sg, predicted)
                    where += f"({b[0]:+.2f}, {b[1]:+.2f})"
                else:  # an imaginer may predict nothing for a subgoal it rejects
                    predicted, where = None, where + "?"
                verdict = "reached" if r.ok else "not reached"
                if not r.ok and r.reason:
                    verdict += f": {r.reason}"
                table.add_row(str(i), escape(sg.text()), escape(verdict), escape(where))
                verdicts.append(f"{sg.text()}: {verdict}")
                if not r.ok or predicted is None:
                    break
                state = predicted
        finally:
            world.set_state(now)  # imagining never moves the real scene
        self.console.print(table)
        self.note("you", f"/imagine {arg}")
        self.note("agent", "imagined: " + "; ".join(verdicts))

    def _subgoals(self, text: str) -> list[Subgoal]:
        """Terse subgoals ('push red block into green zone; go to home pad'), else the LLM's
        decomposition of `text`; each checked against the scene."""
        scene = self.scene()
        try:
            subgoals = [Subgoal.parse(p) for p in _THEN.split(text) if p.strip()]
        except ValueError as e:
            if self.services.decomposer is None:
                raise
            with self.console.status("the LLM is decomposing..."):
                d = self.services.decomposer.decompose(scene, text)
            # "what if I push ..." reads as `imagine`, "push ..." as `act`: both carry a plan
            plan = d.reply.plan if d.reply is not None else None
            if plan is None or not plan.subgoals:
                said = d.question or (d.reply.text if d.reply is not None else "") or str(e)
                raise ValueError(f"cannot tell what to imagine: {said}") from None
            subgoals = list(plan.subgoals)
        problems = [p for sg in subgoals for p in scene.subgoal_problems(sg)]
        if problems:
            raise ValueError("; ".join(problems))
        return subgoals

    def cmd_render(self, arg: str) -> None:
        import imageio.v2 as imageio

        path = Path(arg).expanduser() if arg else self.home / "renders" / (
            f"{self.session.session_id}-{len(self.store.messages(self.session.session_id))}"
            ".png")
        if path.suffix.lower() != ".png":
            raise ValueError(f"/render writes PNG files: give a name ending in .png, not {path}")
        path.parent.mkdir(parents=True, exist_ok=True)
        with self.console.status("rendering..."):
            imageio.imwrite(path, self.world().render(width=480))
        self.console.print(f"wrote {escape(str(path))}", soft_wrap=True)  # copyable path

    def cmd_video(self, arg: str) -> None:
        if arg.lower() not in ("on", "off"):
            return self.usage("video")
        self.session.video = arg.lower() == "on"
        self.store.save(self.session)
        where = self.home / "videos"
        self.console.print(f"videos on: each episode is written to {where}" if
                           self.session.video else "videos off")

    def cmd_llm(self, arg: str) -> None:
        llm = self.services.llm
        self.console.print(f"world model: {self.agent.world_model_name or 'none named'}")
        if llm is None:
            self.console.print("LLM: this agent's decomposer does not describe itself")
            return
        self.console.print(f"LLM: {escape(llm.describe())}")
        with self.console.status("checking the LLM..."):
            try:
                health = f"healthy: {llm.health()}"
            except Exception as e:  # any backend failure is the answer, not a crash
                health = f"NOT healthy: {e}"
        self.console.print(escape(health))

    def cmd_history(self, arg: str) -> None:
        messages = self.store.messages(self.session.session_id)
        if not messages:
            self.console.print("nothing said yet")
        for m in messages:
            self.console.print(escape(f"{m['role']:>5}: {m['text']}"))

    def cmd_threads(self, arg: str) -> None:
        if arg not in ("", "all"):
            return self.usage("threads")
        if arg == "all":
            table = Table("session", "scene", "messages", title="chat sessions",
                          title_justify="left")
            for r in self.store.sessions():
                table.add_row(r["session_id"], f"{r['scenario']}/{r['seed']}",
                              str(r["messages"]))
            self.console.print(table)
            runs = self.agent.store.runs()
            title = "recent runs"
        else:
            runs = [self.agent.store.run_info(t) for t in self.session.threads]
            runs = [r for r in runs if r is not None]
            title = f"runs of session {self.session.session_id}"
        if not runs:
            self.console.print("no runs yet: type a goal")
            return
        table = Table("thread", "scene", "status", "goal", title=title, title_justify="left")
        for r in runs:
            status = r["status"]
            if status == "running" and r["thread_id"] != self.session.active_thread:
                status = "stopped"
            table.add_row(r["thread_id"], f"{r['scenario']}/{r['seed']}", status,
                          escape(r["instruction"].replace("\n", " ")[:40]))
        self.console.print(table)
        self.console.print("/resume THREAD continues a stopped run or answers its question")

    def cmd_resume(self, arg: str) -> None:
        if not arg or " " in arg:
            return self.usage("resume")
        session = self.store.find(arg)
        if session is not None:
            if session.session_id == self.session.session_id:
                self.console.print("that is this session")
                return
            self.session = session
            self.banner(resumed=True)
            if session.active_thread:
                self.resume_thread(session.active_thread)
            return
        info = _find_run(self.agent, arg)
        if info is None:
            raise ValueError(f"no run or chat session {arg!r}; /threads all lists them")
        self.resume_thread(info["thread_id"])


def _seed(text: str) -> int:
    if not text.isdigit():
        raise ValueError(f"the seed must be a non-negative integer, not {text!r}")
    return int(text)


def _find_run(agent: Agent, prefix: str) -> dict | None:
    """The run whose thread id is `prefix`, or the only recent one that starts with it."""
    info = agent.store.run_info(prefix)
    if info is not None:
        return info
    found = [r for r in agent.store.runs(500) if r["thread_id"].startswith(prefix)]
    if len(found) > 1:
        raise ValueError(f"{prefix!r} names {len(found)} runs; type more of the thread id")
    return agent.store.run_info(found[0]["thread_id"]) if found else None


def start(scenario: str, seed: int, llm: str | None, resume: str | None,
          home: Path | None = None, obs: str = "state") -> int:
    """Build the services, open the session and run the chat until the person leaves."""
    services = load_factory()(llm, home, **({"obs": obs} if obs != "state" else {}))
    home = services.agent.store.home
    handler = logging.FileHandler(home / "chat.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    console = Console(highlight=False)
    tty = sys.stdin.isatty() and sys.stdout.isatty() and os.environ.get("TERM") != "dumb"
    reader = PromptReader(home / "chat_history") if tty else PlainReader()
    return Chat.open(services, console, reader, scenario, seed, resume).loop()
