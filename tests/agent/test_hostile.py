"""Hostile input and stored state (issue 18): nothing a file holds becomes code, nothing a
person typed drives the terminal, damaged weights are refused, and a run stopped mid-subgoal
continues the very same episode."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import ormsgpack
import pytest

from agent.api import MAX_INSTRUCTION
from agent.chat.render import escape
from agent.cli import main
from agent.graph import events as ev
from agent.kinds.registry import make_agent
from agent.runs.store import UnsafeCheckpoint
from scenarios.subgoals import Subgoal
from worldmodel import checkpoint

ROOT = Path(__file__).resolve().parent.parent.parent
PUSH = [Subgoal.parse("push red block into blue zone"),
        Subgoal.parse("push purple block into orange zone")]


class Stop(Exception):
    pass


def _stop_at(step: int):
    def on_event(e):
        if isinstance(e, ev.MpcStep) and e.step >= step:
            raise Stop()
    return on_event


def test_planted_checkpoint_object_is_refused_and_never_runs(tmp_path):
    a = make_agent("oracle-plan", home=tmp_path)
    a.run("pads", "x", seed=3, subgoals=[Subgoal.parse("go to green pad")], thread_id="t1")
    a.store.close()
    marker = tmp_path / "PWNED"
    conn = sqlite3.connect(tmp_path / "agent.sqlite")
    for tid, cid, blob in conn.execute("SELECT thread_id, checkpoint_id, checkpoint "
                                       "FROM checkpoints").fetchall():
        cp = ormsgpack.unpackb(blob, ext_hook=ormsgpack.Ext, option=ormsgpack.OPT_NON_STR_KEYS)
        cp["channel_values"]["instruction"] = ormsgpack.Ext(
            1, ormsgpack.packb(["os", "system", [f"touch {marker}"]]))
        conn.execute("UPDATE checkpoints SET checkpoint=? WHERE thread_id=? AND "
                     "checkpoint_id=?", (ormsgpack.packb(cp), tid, cid))
    conn.commit()
    conn.close()
    b = make_agent("oracle-plan", home=tmp_path)
    with pytest.raises(UnsafeCheckpoint, match="os.system"):
        b.resume("t1")
    assert not marker.exists()


def test_user_text_cannot_drive_the_terminal():
    shown = escape("red\x1b[31m block\x1b]0;pwned\x07 [bold red]x[/]\rover")
    assert "\x1b" not in shown and "\x07" not in shown and "\r" not in shown
    assert "\\x1b" in shown and "\\[bold red]" in shown


@pytest.mark.parametrize("damage", ["nan", "flip", "truncate", "garbage-json"])
def test_damaged_weights_are_refused_with_the_file_named(tmp_path, damage):
    model = checkpoint.load_packaged("push")
    path = checkpoint.save(model, tmp_path / "m")
    meta = path.with_suffix(".json")
    if damage == "nan":
        state = model.state_dict()
        next(v for v in state.values() if v.is_floating_point())[0] = float("nan")
        checkpoint.save(model, tmp_path / "m")  # a consistent digest: caught by finiteness
    elif damage == "flip":
        b = bytearray(path.read_bytes())
        b[-7] ^= 0x10
        path.write_bytes(b)
    elif damage == "truncate":
        path.write_bytes(path.read_bytes()[:4000])
        info = json.loads(meta.read_text())
        info.pop("sha256")  # an older checkpoint without a digest: the reader must say so
        meta.write_text(json.dumps(info))
    else:
        meta.write_text("{not json")
    with pytest.raises(ValueError, match=r"m\.(safetensors|json)"):
        checkpoint.load(tmp_path / "m")


def test_overlong_and_blank_instructions_are_refused_before_anything_is_stored(tmp_path):
    answers = tmp_path / "answers.json"
    answers.write_text("[]")
    a = make_agent("hybrid", llm=f"scripted:{answers}", home=tmp_path)
    for text in ("", "   ", "go " * MAX_INSTRUCTION):
        with pytest.raises(ValueError, match="instruction"):
            a.run("push", text, seed=3)
    assert a.store.runs() == []


def test_a_run_stopped_mid_subgoal_continues_the_same_episode(tmp_path):
    """Stopped at three control steps and resumed by a new agent (a new process's view), the
    run ends where the uninterrupted one does, with the same step count."""
    ref_agent = make_agent("oracle-plan", home=tmp_path)
    ref = ref_agent.run("push", "x", seed=3, subgoals=PUSH, thread_id="ref")
    ref_state = np.asarray(ref_agent.sim_state("ref"))
    for k in (7, 33, 95):
        a = make_agent("oracle-plan", home=tmp_path)
        with pytest.raises(Stop):
            a.run("push", "x", seed=3, subgoals=PUSH, thread_id=f"k{k}", on_event=_stop_at(k))
        assert a.store.run_info(f"k{k}")["status"] == "interrupted"
        b = make_agent("oracle-plan", home=tmp_path)
        rec = b.resume(f"k{k}")
        assert (rec.status, rec.steps) == (ref.status, ref.steps)
        np.testing.assert_array_equal(np.asarray(b.sim_state(f"k{k}")), ref_state)


def test_cli_says_one_line_for_a_file_out_and_a_binary_suite(tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("")
    assert main(["eval", "--suite", "default", "--agents", "oracle-plan", "--episodes", "1",
                 "--out", str(afile)]) == 1
    assert "afile is a file where a folder is needed" in capsys.readouterr().err
    suite = tmp_path / "bin.yaml"
    suite.write_bytes(bytes(range(256)))
    assert main(["eval", "--suite", str(suite), "--agents", "oracle-plan",
                 "--out", str(tmp_path / "ev")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.endswith("bin.yaml: not a text file (not UTF-8); a suite is YAML text "
                        "(see docs/suites.md)") and len(err.splitlines()) == 1


@pytest.mark.slow
def test_wmagent_run_killed_at_two_points_resumes_to_the_same_end(tmp_path):
    """`wmagent run` SIGKILLed mid-subgoal shows as interrupted, and `wmagent run --resume`
    (no instruction) ends in the uninterrupted run's final state after as many steps."""
    ref_agent = make_agent("oracle-plan", home=tmp_path / "ref")
    ref = ref_agent.run("push", "x", seed=3, subgoals=PUSH, thread_id="ref")
    ref_state = np.asarray(ref_agent.sim_state("ref"))
    truth = "push red block into blue zone; push purple block into orange zone"
    for after in (25, 70):
        home = tmp_path / f"k{after}"
        env = {**os.environ, "WMAGENT_HOME": str(home), "PYTHONPATH": str(ROOT)}
        cli = [sys.executable, "-m", "agent.cli"]
        proc = subprocess.Popen([*cli, "run", "x", "--agent", "oracle-plan", "--scenario",
                                 "push", "--seed", "3", "--subgoals", truth], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 300
        while time.time() < deadline and proc.poll() is None:
            trajectories = list((home / "trajectories").glob("*.npy"))
            if trajectories and len(np.load(trajectories[0])) > after:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the run ended before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        [thread] = [p.stem for p in (home / "trajectories").glob("*.npy")]
        listed = subprocess.run([*cli, "runs"], cwd=ROOT, env=env, capture_output=True,
                                text=True, check=True).stdout
        assert "interrupted" in listed and "running" not in listed
        done = subprocess.run([*cli, "run", "--resume", thread], cwd=ROOT, env=env,
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        again = make_agent("oracle-plan", home=home)
        rec = again.record(thread)
        assert (rec.status, rec.steps) == (ref.status, ref.steps)
        np.testing.assert_array_equal(np.asarray(again.sim_state(thread)), ref_state)


def test_a_run_keeps_what_its_world_model_reads_and_a_resume_reads_the_same(tmp_path,
                                                                            monkeypatch, capsys):
    from agent.runs.store import RunStore

    # A store written before runs kept their observation gains the column, as 'state'.
    tmp_path.mkdir(exist_ok=True)
    old = sqlite3.connect(tmp_path / "agent.sqlite")
    old.execute("CREATE TABLE wm_runs (thread_id TEXT PRIMARY KEY, agent TEXT, scenario TEXT, "
                "seed INTEGER, instruction TEXT, status TEXT, record TEXT, updated REAL)")
    old.execute("INSERT INTO wm_runs VALUES ('old', 'hybrid', 'pads', 0, 'x', 'done', NULL, 0)")
    old.commit()
    old.close()
    store = RunStore(tmp_path)
    assert store.run_info("old")["obs"] == "state"
    store.save_run("px", "hybrid", "pads", 3, "go to the orange pad", "needs_clarification",
                   obs="pixels")
    assert store.run_info("px")["obs"] == "pixels"
    monkeypatch.setenv("WMAGENT_HOME", str(tmp_path))
    assert main(["run", "--resume", "px", "--obs", "state", "--answer", "yes"]) == 1
    assert "ran with --obs pixels; resume it with the same" in capsys.readouterr().err


def test_a_missing_world_model_is_an_error_before_anything_is_asked(tmp_path, monkeypatch):
    """A family with no model for the chosen observation fails at once, with the command
    that makes one: nothing is decomposed, asked, stored or moved first."""
    from agent.api import Agent
    from agent.graph.contracts import Resources
    from agent.runs.store import RunStore
    from tools.acting import WorldModelExecutor
    from tools.models import ModelShelf

    monkeypatch.setattr(checkpoint, "PACKAGED", tmp_path / "none")

    class Refusing:
        name = "refusing"

        def decompose(self, scene, instruction):
            raise AssertionError("decomposed before the model was checked")

    agent = Agent("hybrid", Resources(executor=WorldModelExecutor("cem", ModelShelf("pixels")),
                                      decomposer=Refusing()), store=RunStore(tmp_path),
                  obs="pixels")
    with pytest.raises(FileNotFoundError, match="wmagent train clutter --obs pixels"):
        agent.run("clutter", "push the red block into the blue zone", thread_id="t")
    assert agent.store.run_info("t") is None
