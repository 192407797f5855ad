"""The chat in-process: what its commands must do to the scene, the session and the screen."""

import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from agent.chat.render import EventRenderer
from agent.chat.session import Chat, ChatServices, load_factory
from agent.chat.store import ChatStore
from agent.graph import events as ev
from scenarios import Subgoal, names, world_for

sys.path.insert(0, str(Path(__file__).parent))
from chat_fakes import services  # noqa: E402

PUSH_RED = [{"skill": "push", "object": "red block", "target": "red zone"}]
GO_GREEN = [{"skill": "go", "object": "agent", "target": "green zone"}]


class Lines:
    """A reader that types the given lines (an exception is raised instead), then Ctrl-D."""

    def __init__(self, *lines):
        self.lines = list(lines)

    def read(self, prompt):
        if not self.lines:
            raise EOFError
        line = self.lines.pop(0)
        if isinstance(line, BaseException):
            raise line
        return line


def open_chat(tmp_path, answers, *lines, scenario="sort", seed=0, resume=None, width=80):
    path = tmp_path / "answers.json"
    path.write_text(json.dumps(answers))
    out = io.StringIO()
    console = Console(file=out, width=width, color_system=None, highlight=False)
    chat = Chat.open(services(f"scripted:{path}", tmp_path / "home"), console, Lines(*lines),
                     scenario, seed, resume)
    return chat, out


def test_the_next_goal_starts_where_the_last_episode_ended(tmp_path):
    chat, out = open_chat(tmp_path, [PUSH_RED, GO_GREEN])
    first = chat.run_goal("push the red block into its zone")
    end = chat.session.state
    second = chat.run_goal("go to the green zone")
    assert first.success and second.success
    start = chat.agent.store.trajectory(second.thread_id)[0]
    assert np.allclose(start, end)
    assert world_for("sort", 0).holds(Subgoal.model_validate(PUSH_RED[0]), start), (
        "the red block is still in its zone when the second episode starts")
    assert chat.session.threads == [first.thread_id, second.thread_id]


def test_ctrl_c_at_a_question_leaves_it_open_for_resume(tmp_path):
    chat, out = open_chat(tmp_path, ["Which block?", PUSH_RED], KeyboardInterrupt(),
                          "the red one")
    rec = chat.run_goal("push the block")
    assert rec.status == "needs_clarification" and rec.question == "Which block?"
    assert chat.session.active_thread is None
    assert f"/resume {rec.thread_id} to give one" in out.getvalue()
    chat.handle(f"/resume {rec.thread_id}")
    assert chat.agent.record(rec.thread_id).success
    assert out.getvalue().count("agent asks:") == 2, "the question is asked again"


def test_a_failing_run_does_not_stay_active(tmp_path):
    chat, out = open_chat(tmp_path, [])  # the scripted LLM has no answer to give
    chat.handle("go somewhere")
    assert "error: the scripted LLM has no answers left" in out.getvalue()
    assert "retries it from its last checkpoint" in out.getvalue()
    assert chat.session.active_thread is None
    assert chat.store.find(chat.session.session_id).active_thread is None


def test_ctrl_c_before_the_first_checkpoint_moves_nothing(tmp_path, monkeypatch):
    chat, out = open_chat(tmp_path, [PUSH_RED])

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(chat.agent, "run", interrupted)
    assert chat.run_goal("push red") is None
    assert "stopped before the episode began" in out.getvalue()
    assert chat.session.state is None and chat.session.active_thread is None


def test_imagine_predicts_without_moving_the_scene(tmp_path):
    chat, out = open_chat(tmp_path, [])
    before = chat.world().state().copy()
    chat.handle("/imagine push red block into red zone; go to green zone")
    text = out.getvalue()
    assert "imagined (nothing moved)" in text and "green zone" in text
    assert text.count("reached") == 2 and "not reached" not in text
    assert np.array_equal(chat.world().state(), before)
    assert chat.session.state is None and chat.session.threads == []


def test_imagine_reads_terse_subgoals_and_asks_the_llm_about_the_rest(tmp_path):
    chat, out = open_chat(tmp_path, [GO_GREEN])
    terse = chat._subgoals("push red block into red zone and then go to blue zone")
    assert [sg.text() for sg in terse] == ["push the red block into the red zone",
                                           "go to the blue zone"]
    chat.handle("/imagine what if you parked on the green one?")
    assert chat.services.decomposer.calls == [("decompose",
                                               "what if you parked on the green one?")]
    assert "go to the green zone" in out.getvalue()


def test_bad_input_gets_one_line_that_says_what_to_do(tmp_path):
    chat, out = open_chat(tmp_path, [], width=120)  # one line each, however many families
    banner = len(out.getvalue())
    for line in ("/scenario", "/scenario moon", "/scenario sort -1", "/imagine go to moon",
                 "/render scene.jpg", "/resume nothing", "/threads some", "/plna x"):
        chat.handle(line)
    lines = [x.strip() for x in out.getvalue()[banner:].splitlines()]
    assert lines == [
        "usage: /scenario NAME [SEED]: switch to another scene, at its start",
        f"error: unknown scenario 'moon'; choose one of: {', '.join(names())}",
        "error: the seed must be a non-negative integer, not '-1'",
        "error: there is no 'moon' here; targets are red zone, blue zone, green zone",
        "error: /render writes PNG files: give a name ending in .png, not scene.jpg",
        "error: no run or chat session 'nothing'; /threads all lists them",
        "usage: /threads [all]: runs of this session; all: every run and session",
        "unknown command /plna; did you mean /plan? /help lists them",
    ]


def test_every_line_fits_80_columns(tmp_path):
    chat, out = open_chat(tmp_path, ["Which block?", PUSH_RED], "the red one")
    for line in ("/help", "/scene", "/scenario rooms 3", "/scene", "/scenario sort 0",
                 "push the block", "/threads all", "/history", "/llm"):
        chat.handle(line)
    text = out.getvalue()
    assert "summary" in text and "healthy" in text
    assert max(len(x) for x in text.splitlines()) <= 80


def test_session_is_restored_from_sqlite(tmp_path):
    chat, _ = open_chat(tmp_path, [PUSH_RED])
    chat.handle("/video on")
    rec = chat.run_goal("push the red block into its zone")
    sid, state = chat.session.session_id, chat.session.state
    chat.agent.store.close()
    again, out = open_chat(tmp_path, [], resume=sid[:4])
    s = again.session
    assert (s.session_id, s.state, s.threads, s.video) == (sid, state, [rec.thread_id], True)
    assert (tmp_path / "home" / "videos" / f"{rec.thread_id}.mp4").exists()
    assert "you: push the red block into its zone" in out.getvalue()


def test_a_run_id_opens_a_session_in_its_scene(tmp_path):
    chat, _ = open_chat(tmp_path, [PUSH_RED], scenario="push", seed=1)
    assert chat.session.scenario == "push"
    chat.handle("/scenario sort 0")
    assert chat.session.state is None
    rec = chat.run_goal("push red")
    again, _ = open_chat(tmp_path, [], scenario="pads", seed=4, resume=rec.thread_id)
    assert (again.session.scenario, again.session.seed) == ("sort", 0)
    assert again.session.state == chat.session.state


def test_store_finds_sessions_by_unique_prefix(tmp_path):
    import sqlite3

    store = ChatStore(sqlite3.connect(tmp_path / "x.sqlite"))
    a = store.create("sort", 0)
    store.add_message(a.session_id, "you", "hello", "t1")
    store.add_message(a.session_id, "agent", "hi", "t1")
    assert store.find(a.session_id[:3]).threads == ["t1"]
    assert [m["text"] for m in store.messages(a.session_id)] == ["hello", "hi"]
    assert store.find("zz%") is None


def test_renderer_without_a_terminal_prints_progress_lines():
    out = io.StringIO()
    r = EventRenderer(Console(file=out, width=80, color_system=None), log_every=10)
    sub = PUSH_RED[0]
    r(ev.SubgoalStarted(0, sub, 1))
    for t in range(1, 26):
        r(ev.MpcStep(t, 0, 1.0 / t, 20.0))
    r(ev.SubgoalDone(0, sub, False, 25, reason="not reached within 25 steps"))
    r(ev.Imagined(1, sub, 0, True, "", [], 0))
    r(ev.SubgoalStarted(1, sub, 2))
    r(ev.SubgoalDone(1, sub, True, 3))
    assert out.getvalue().splitlines() == [
        "1. push the red block into the red zone",
        "  ... step 10 energy 0.100 falling 20 ms",
        "  ... step 20 energy 0.050 falling 20 ms",
        "  FAILED after 25 steps: not reached within 25 steps",
        "  imagined 2: push the red block into the red zone -> reached",
        "2. push the red block into the red zone (attempt 2)",
        "  done in 3 steps, as imagined",
    ]


def test_factory_hook_fails_with_the_fix(monkeypatch):
    monkeypatch.setenv("WMAGENT_CHAT_FACTORY", "chat_fakes")
    with pytest.raises(ValueError, match="write it as module:function"):
        load_factory()
    monkeypatch.setenv("WMAGENT_CHAT_FACTORY", "chat_fakes:nothing")
    with pytest.raises(ValueError, match="cannot be loaded"):
        load_factory()
    monkeypatch.setenv("WMAGENT_CHAT_FACTORY", "chat_fakes:services")
    assert load_factory() is services


def test_services_default_to_the_agents_own_parts(tmp_path):
    path = tmp_path / "a.json"
    path.write_text("[]")
    s = services(f"scripted:{path}", tmp_path)
    assert s.decomposer is s.agent.resources.decomposer
    assert s.llm is s.decomposer  # it describes itself
    assert s.imagine == s.agent.resources.imaginer.imagine
    assert isinstance(s, ChatServices)
