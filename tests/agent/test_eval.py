"""The evaluation harness: intervals, suites, sweeps that resume, reports."""

import functools
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent.cli import main
from agent.evaluation import SuiteFileError, SweepConfig, load_suite, run_sweep, wilson
from agent.evaluation.report import FILES, write_report
from agent.evaluation.runner import AgentBuildError
from agent.evaluation.suites import Suite
from scenarios import instructions, names, world_for

sys.path.insert(0, str(Path(__file__).parent))
import eval_fakes  # noqa: E402

ROOT = Path(__file__).parent.parent.parent
EXAMPLE = ROOT / "examples" / "suites" / "smoke.yaml"


@functools.cache
def training_phrasings() -> frozenset[str]:
    return frozenset(t.instruction for n in ("push", "sort", "pads", "rooms")
                     for t in instructions.generate(n, 200, "train", seed=10_000))


def small(name="push-2", n=4) -> Suite:
    return load_suite(name, n)


# --- metrics ------------------------------------------------------------------------------
@pytest.mark.parametrize("k, n, low, high", [
    # Newcombe (1998), Statistics in Medicine 17:857-872, table I, method 3 (Wilson score).
    (81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611),
    (1, 29, 0.0061, 0.1718), (29, 29, 0.8830, 1.0), (5, 10, 0.2366, 0.7634)])
def test_wilson_interval_matches_published_values(k, n, low, high):
    lo, hi = wilson(k, n)
    assert lo == pytest.approx(low, abs=5e-5) and hi == pytest.approx(high, abs=5e-5)


def test_wilson_interval_edges():
    assert wilson(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError, match="need 0 <= successes <= n, got 3 of 2"):
        wilson(3, 2)


# --- suites -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["default", "horizon", "paraphrase", "push-2", "sort-4",
                                  "pads-6", "rooms-1"])
def test_builtin_suites_are_fixed_held_out_and_never_solved_at_start(name):
    suite = load_suite(name, 12)
    assert suite.episodes == load_suite(name, 12).episodes
    assert len(suite.episodes) == 12 and len({e.key for e in suite.episodes}) == 12
    train = training_phrasings()
    for ep in suite.episodes:
        assert not world_for(ep.scenario, ep.seed).holds(ep.subgoals[0])
        assert ep.instruction not in train
    if name == "default":
        assert {e.scenario for e in suite.episodes} == {"push", "sort"}
        assert {e.horizon for e in suite.episodes} == {2, 3, 4}
    if name == "paraphrase":  # the same task said three ways
        groups = {}
        for e in suite.episodes:
            groups.setdefault(e.group, []).append(e)
        for g in groups.values():
            assert len({e.instruction for e in g}) == len(g) == 3
            assert len({(e.scenario, e.seed, str(e.subgoals)) for e in g}) == 1


def test_suite_file_errors_name_file_entry_and_field(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(EXAMPLE.read_text().split("episodes:")[0] + """episodes:
  - scenario: push
    seed: 3
    instruction: Push the purple block into the blue zone.
    subgoals: [{skill: push, object: purple block, target: blue zone}]
  - scenario: kitchen
    seed: 1
    instruction: cook
  - scenario: push
    seed: -2
    instruction: ""
    colour: red
  - scenario: push
    seed: 3
    instruction: Push the green block.
    subgoals:
      - {skill: push, object: green block, target: green zone}
      - {skill: fly, object: agent, target: blue zone}
  - scenario: push
    seed: 45
    instruction: go to the blue zone
    subgoals: [{skill: go, object: agent, target: blue zone}]
  - scenario: push
    seed: 3
    instruction: Push the purple block into the blue zone.
    subgoals: [{skill: push, object: purple block, target: blue zone}]
""")
    with pytest.raises(SuiteFileError) as err:
        load_suite(path)
    assert str(err.value).splitlines() == [
        f"{path}: entry 2 (line 10), field 'scenario': unknown scenario 'kitchen'; choose "
        f"one of: {', '.join(names())}",
        f"{path}: entry 3 (line 13), field 'colour': unknown field; fields are scenario, "
        "seed, instruction, subgoals, group",
        f"{path}: entry 3 (line 13), field 'seed': a seed is an integer from 0 to "
        "2**63 - 1, not -2",
        f"{path}: entry 3 (line 13), field 'instruction': an instruction is a non-empty string",
        f"{path}: entry 4 (line 17), field 'subgoals[1].target': there is no 'green zone' "
        "here; targets are blue zone, orange zone",
        f"{path}: entry 4 (line 17), field 'subgoals[1].object': there is no 'green block' "
        "here; blocks are red block, purple block",
        f"{path}: entry 4 (line 17), field 'subgoals[2].skill': Input should be 'go' or "
        "'push'",
        f"{path}: entry 5 (line 23), field 'subgoals[1]': 'go to the blue zone' already "
        "holds at the start of push seed 45; pick another seed (a solved start inflates "
        "success)",
        f"{path}: entry 6 (line 27): repeats entry 1",
    ]


def test_example_suite_file_and_unknown_suite():
    suite = load_suite(EXAMPLE)
    assert suite.name == "smoke" and len(suite.episodes) == 4
    assert [e.horizon for e in suite.episodes] == [2, 3, 3, 1]
    assert len(load_suite(EXAMPLE, 2).episodes) == 2
    with pytest.raises(ValueError, match="unknown suite 'nope': give a suite file"):
        load_suite("nope")


# --- sweeps -------------------------------------------------------------------------------
def test_oracle_script_sweep_writes_rows_and_the_report(tmp_path):
    suite = load_suite(EXAMPLE)
    cfg = SweepConfig(("oracle-script",), tmp_path, command="wmagent eval")
    store = run_sweep(suite, cfg)
    rows = store.rows()
    assert len(rows) == 4 and all(r["success"] and r["error"] is None for r in rows)
    assert [r["n_subgoals"] for r in rows] == [2, 3, 3, 1]
    summary = write_report(store, suite, ["oracle-script"], tmp_path)
    for name in FILES:
        assert (tmp_path / name).stat().st_size > 0, name
    for png in ("success_vs_subgoals.png", "cost_per_success.png"):
        assert (tmp_path / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    s = json.loads((tmp_path / "summary.json").read_text())["agents"]["oracle-script"]
    assert s == json.loads(json.dumps(summary["agents"]["oracle-script"]))
    assert (s["episodes"], s["success_rate"], s["decomposition_accuracy"]) == (4, 1.0, None)
    assert s["ci_low"] == pytest.approx(wilson(4, 4)[0]) and s["ci_high"] == 1.0
    assert s["mean_steps"] > 0 and s["mean_seconds"] > 0
    assert s["world_model"] == "scripted skills" and s["llm"] == "none"
    md = (tmp_path / "report.md").read_text()
    config = s["config"]
    assert f"| oracle-script | `{config}` | none | scripted skills |" in md
    assert "# oracle-script\nwmagent eval" in md
    csv_lines = (tmp_path / "episodes.csv").read_text().splitlines()
    assert len(csv_lines) == 5 and csv_lines[0].startswith("agent,key,config,suite")
    assert all(line.split(",")[2] == config for line in csv_lines[1:])


def test_same_seed_same_episode_for_every_agent(tmp_path):
    suite = small("sort-2", 4)
    run_sweep(suite, SweepConfig(("llm-only", "hybrid"), tmp_path), factory=eval_fakes.factory)
    seen: dict = {}
    for call in eval_fakes.calls(tmp_path / "runs"):
        what = (call["scenario"], call["seed"], call["instruction"], str(call["subgoals"]))
        seen.setdefault(what, []).append(call["agent"])
    assert len(seen) == 4 and all(sorted(a) == ["hybrid", "llm-only"] for a in seen.values())
    # ... and a seeded scene is the same scene (and the same episode) wherever it is built.
    a, b = (run_sweep(suite, SweepConfig(("oracle-script",), tmp_path / d)).rows()
            for d in ("a", "b"))
    assert [(r["key"], r["steps"], r["success"]) for r in a] == [
        (r["key"], r["steps"], r["success"]) for r in b]


def test_interrupted_sweep_resumes_without_repeats_or_losses(tmp_path):
    suite = small("push-1", 6)
    cfg = SweepConfig(("llm-only", "hybrid"), tmp_path)
    seen = []

    def stop_after_five(row):
        seen.append(row)
        if len(seen) == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(suite, cfg, factory=eval_fakes.factory, on_row=stop_after_five)
    assert len(run_sweep.__globals__["ResultStore"](cfg.db).rows()) == 5
    planned = []
    store = run_sweep(suite, cfg, factory=eval_fakes.factory, on_start=planned.append)
    assert planned == [7]
    runs = [(c["agent"], c["seed"]) for c in eval_fakes.calls(tmp_path / "runs")]
    assert len(runs) == len(set(runs)) == 12, "every (agent, episode) ran exactly once"
    assert len(store.rows()) == 12
    assert run_sweep(suite, cfg, factory=eval_fakes.factory, on_start=planned.append) and (
        planned[-1] == 0)


def test_killed_sweep_resumes_without_repeats_or_losses(tmp_path):
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "agent.cli", "eval", "--suite", "push-1", "--episodes", "40",
           "--agents", "oracle-script", "--out", str(out)]
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = out / "results.sqlite"
    deadline = time.time() + 120
    before: list = []
    while time.time() < deadline and proc.poll() is None:
        if db.exists():
            with sqlite3.connect(db) as conn:
                try:
                    before = conn.execute("SELECT key, thread_id, finished FROM episodes"
                                          ).fetchall()
                except sqlite3.OperationalError:  # the table is being created
                    before = []
            if len(before) >= 3:
                break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with sqlite3.connect(db) as conn:
        before = conn.execute("SELECT key, thread_id, finished FROM episodes").fetchall()
    assert 3 <= len(before) < 40, "the kill must land mid-sweep"
    planned = []
    store = run_sweep(load_suite("push-1", 40), SweepConfig(("oracle-script",), out),
                      on_start=planned.append)
    after = {r["key"]: (r["key"], r["thread_id"], r["finished"]) for r in store.rows()}
    assert planned == [40 - len(before)]
    assert len(after) == 40 and all(after[k] == (k, t, f) for k, t, f in before)


def test_episode_errors_become_rows_and_can_be_retried(tmp_path):
    suite = small("push-1", 4)  # seeds 10000..; wm-only raises on seeds = 1 mod 4
    cfg = SweepConfig(("wm-only",), tmp_path)
    rows = run_sweep(suite, cfg, factory=eval_fakes.factory).rows()
    bad = [r for r in rows if r["error"]]
    assert len(rows) == 4 and [r["seed"] % 4 for r in bad] == [1]
    assert bad[0]["status"] == "error" and not bad[0]["success"]
    assert bad[0]["error"].startswith("RuntimeError: boom on seed") and "eval_fakes.py" in (
        bad[0]["error"])
    planned = []
    run_sweep(suite, cfg, factory=eval_fakes.factory, on_start=planned.append)
    run_sweep(suite, SweepConfig(("wm-only",), tmp_path, retry_errors=True),
              factory=eval_fakes.factory, on_start=planned.append)
    assert planned == [0, 1]


def test_agent_that_cannot_be_built_stops_the_sweep(tmp_path):
    with pytest.raises(AgentBuildError, match="could not build the oracle-sim agent: "
                                              "RuntimeError: no world model checkpoint"):
        run_sweep(small(), SweepConfig(("oracle-sim",), tmp_path), factory=eval_fakes.factory)


def test_metrics_split_planning_from_execution(tmp_path):
    suite = small("push-2", 6)
    store = run_sweep(suite, SweepConfig(("llm-only", "wm-only"), tmp_path),
                      factory=eval_fakes.factory)
    s = write_report(store, suite, ["llm-only", "wm-only"], tmp_path)["agents"]
    evens = sum(ep.seed % 2 == 0 for ep in suite.episodes)
    assert s["llm-only"]["decomposition_accuracy"] == evens / 6
    assert s["llm-only"]["success_given_exact_plan"] == 1.0
    assert s["llm-only"]["mean_tokens"] == 120 and s["llm-only"]["llm"] == "fake-llm"
    assert s["llm-only"]["tokens_per_success"] == pytest.approx(120 * 6 / evens)
    assert s["wm-only"]["decomposition_accuracy"] is None, "an agent without plans"
    assert s["llm-only"]["paraphrase_consistency"] is None, "no task is phrased twice here"
    assert s["wm-only"]["errors"] == sum(ep.seed % 4 == 1 for ep in suite.episodes)


def test_paraphrase_consistency(tmp_path):
    suite = small("paraphrase", 6)  # two tasks, three phrasings each, one seed per task
    store = run_sweep(suite, SweepConfig(("llm-only",), tmp_path), factory=eval_fakes.factory)
    s = write_report(store, suite, ["llm-only"], tmp_path)["agents"]["llm-only"]
    assert s["paraphrase_consistency"] == 1.0  # the fake's plans depend on the seed only
    assert "| llm-only | 100.0% |" in (tmp_path / "report.md").read_text()


def test_process_pool_builds_each_agent_once_per_worker_and_survives_a_dead_worker(
        tmp_path, monkeypatch):
    suite = small("push-1", 8)
    monkeypatch.setenv("FAKE_DIE_SEED", str(suite.episodes[2].seed))
    cfg = SweepConfig(("hybrid", "llm-only"), tmp_path, workers=2)
    rows = run_sweep(suite, cfg, factory=eval_fakes.factory).rows()
    assert len(rows) == 16
    dead = [r for r in rows if r["error"]]
    assert [(r["agent"], r["seed"]) for r in dead] == [("hybrid", suite.episodes[2].seed)]
    assert "the worker died during the episode" in dead[0]["error"]
    builds = [(c["pid"], c["agent"]) for c in eval_fakes.calls(tmp_path / "runs", "build")]
    assert len(builds) == len(set(builds)), "an agent is built once per worker process"
    assert len({r["worker"] for r in rows if not r["error"]}) >= 2


def test_oracle_agents_need_ground_truth_in_the_suite(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("episodes:\n  - {scenario: pads, seed: 2, instruction: go home}\n")
    with pytest.raises(ValueError, match="the oracle-script agent needs ground-truth"):
        run_sweep(load_suite(path), SweepConfig(("oracle-script",), tmp_path / "o"))
    with pytest.raises(ValueError, match="unknown agent\\(s\\) nope; choose from: hybrid"):
        SweepConfig(("nope",), tmp_path)


def test_missing_ray_names_the_install_command(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ValueError, match=r"pip install 'wmagent\[ray\]'"):
        run_sweep(small(), SweepConfig(("llm-only",), tmp_path, ray="local"),
                  factory=eval_fakes.factory)


# --- command line -------------------------------------------------------------------------
def test_cli_eval_writes_the_report_and_reports_bad_files_in_one_go(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["eval", "--suite", str(EXAMPLE), "--agents", "oracle-script", "--episodes",
                 "2", "--out", str(out)]) == 0
    assert (f"wmagent eval --suite {EXAMPLE} --agents oracle-script --episodes 2 --workers 1 "
            f"--out {out}\n") in (out / "report.md").read_text()
    assert json.loads((out / "summary.json").read_text())["agents"]["oracle-script"][
        "episodes"] == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text("episodes:\n  - {scenario: kitchen, seed: 1, instruction: cook}\n")
    assert main(["eval", "--suite", str(bad), "--agents", "oracle-script",
                 "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.strip() == (f"wmagent: error: {bad}: entry 1 (line 2), field 'scenario': "
                           f"unknown scenario 'kitchen'; choose one of: {', '.join(names())}")


@pytest.mark.slow
@pytest.mark.integration
def test_ray_sweep_on_a_local_instance(tmp_path, monkeypatch):
    pytest.importorskip("ray")
    suite = small("push-1", 4)
    # Ray workers import the fakes through PYTHONPATH (passed on in the runtime env).
    monkeypatch.setenv("PYTHONPATH", f"{ROOT}{os.pathsep}{Path(__file__).parent}")
    monkeypatch.setenv("FAKE_DIE_SEED", str(suite.episodes[1].seed))
    cfg = SweepConfig(("oracle-script", "hybrid"), tmp_path, workers=2, ray="local")
    rows = run_sweep(suite, cfg, factory=eval_fakes.factory).rows()
    real = [r for r in rows if r["agent"] == "oracle-script"]
    assert len(real) == 4 and all(r["success"] for r in real)
    assert len({r["worker"] for r in rows if r["worker"]}) >= 2
    dead = [r for r in rows if r["error"]]
    assert [(r["agent"], r["seed"]) for r in dead] == [("hybrid", suite.episodes[1].seed)]
    assert "the worker died during the episode (ActorDiedError" in dead[0]["error"]


def test_the_critic_summary_sets_its_verdicts_against_what_happened():
    import json

    from agent.evaluation.metrics import critic_summary

    def row(foresight, side_effects, question=None, steps=100):
        return {"record": json.dumps({"foresight": foresight, "side_effects": side_effects,
                                      "question": question, "steps": steps})}

    safe, unsafe = [{"safe": True}], [{"safe": False}]
    rows = [row(safe, []), row(safe, [{"kind": "broke"}]), row(unsafe, [{"kind": "displaced"}]),
            row(unsafe, [], "Whichever way I take it, I foresee ...", steps=0), row([], [])]
    assert critic_summary(rows) == {
        "asked": 1, "foresaw_harm": 4, "acted_predicted_safe": 3,
        "harmed_when_predicted_safe": 1, "acted_predicted_harm": 1,
        "harmed_when_predicted_harm": 1}
    assert critic_summary([row([], [])]) is None  # an agent that never foresaw
