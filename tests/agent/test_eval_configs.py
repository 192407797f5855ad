"""Evaluation rows are keyed by what produced them: another LLM, adapter, world model or suite
in the same --out is refused or run afresh, never reported as the old rows' success."""

import json
import sqlite3
import sys
from pathlib import Path

import pytest

from agent.cli import main
from agent.evaluation import SweepConfig, load_suite, run_sweep
from agent.evaluation.configs import LEGACY, configuration
from agent.evaluation.report import write_report
from agent.evaluation.store import ResultStore, StoredElsewise
from agent.kinds.settings import AgentSettings

sys.path.insert(0, str(Path(__file__).parent))
import eval_fakes  # noqa: E402


def answers(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(json.dumps([text]))
    return f"scripted:{path}"


def sweep(out: Path, agents=("llm-only",), llm=None, new=False, suite="push-2", n=4):
    cfg = SweepConfig(tuple(agents), out, llm=llm, new=new, command=f"eval {llm}")
    return run_sweep(load_suite(suite, n), cfg, factory=eval_fakes.factory)


def test_the_configuration_names_llm_adapter_checkpoints_and_budgets():
    fp = configuration("hybrid", "default", AgentSettings()).fingerprint
    assert fp["llm"]["backend"] == "embedded"
    assert fp["llm"]["adapter"].startswith("planner (shipped), sha256 ")
    assert len(fp["acting"]["checkpoints"]["push"]) == 64
    assert fp["budgets"]["push_steps"] == 250
    assert "llm" not in configuration("oracle-plan", "default", AgentSettings()).fingerprint
    served = configuration("hybrid", "default", AgentSettings(llm="http://127.0.0.1:9/v1"))
    assert served.fingerprint["llm"]["url"] == "http://127.0.0.1:9/v1"
    assert served.id != configuration("hybrid", "default", AgentSettings()).id


def test_another_llm_in_the_same_out_is_refused_naming_what_differs(tmp_path):
    a, b = answers(tmp_path, "a.json", "x"), answers(tmp_path, "b.json", "y")
    out = tmp_path / "out"
    first = {r["key"]: r["finished"] for r in sweep(out, llm=a).rows()}
    with pytest.raises(StoredElsewise, match=r"made another way for llm-only \(llm\.file: "
                                             r"stored a\.json, now b\.json; llm\.sha256: "
                                             r"stored \w+, now \w+\)\. Pass --new"):
        sweep(out, llm=b)
    assert len(eval_fakes.calls(out / "runs")) == 4  # nothing ran
    again = {r["key"]: r["finished"] for r in sweep(out, llm=a).rows()}
    assert again == first  # the same configuration resumes: no episode is repeated


def test_new_runs_afresh_keeps_the_old_rows_and_reports_only_the_new(tmp_path):
    a, b = answers(tmp_path, "a.json", "x"), answers(tmp_path, "b.json", "y")
    out = tmp_path / "out"
    old = sweep(out, llm=a)
    old_config = old.current()["llm-only"]["config"]
    store = sweep(out, llm=b, new=True)
    assert len(eval_fakes.calls(out / "runs")) == 8  # all four ran again
    new_config = store.current()["llm-only"]["config"]
    assert new_config != old_config
    assert {r["config"] for r in store.rows()} == {new_config}
    kept = sqlite3.connect(out / "results.sqlite").execute(
        "SELECT config, COUNT(*) FROM episodes GROUP BY config").fetchall()
    assert dict(kept) == {old_config: 4, new_config: 4}
    summary = write_report(store, load_suite("push-2", 4), ["llm-only"], out)
    assert summary["agents"]["llm-only"]["config"] == new_config
    assert list(summary["commands"]) == [f"eval {b}"]
    episodes = (out / "episodes.csv").read_text().splitlines()[1:]
    assert len(episodes) == 4 and all(f",{new_config}," in line for line in episodes)


def test_the_report_keeps_agents_run_by_an_earlier_command(tmp_path):
    out = tmp_path / "out"
    sweep(out, agents=("llm-only",))
    store = sweep(out, agents=("hybrid",))
    summary = write_report(store, load_suite("push-2", 4), ["hybrid"], out)
    assert list(summary["agents"]) == ["hybrid", "llm-only"]
    assert summary["agents"]["llm-only"]["episodes"] == 4
    assert "# hybrid, llm-only\neval None\n```" in (out / "report.md").read_text()


def test_another_suite_in_the_same_out_is_refused(tmp_path):
    out = tmp_path / "out"
    sweep(out, suite="push-2")
    with pytest.raises(StoredElsewise, match="holds results of suite push-2, not 'sort-2'; one "
                                             "results folder holds one suite: pass another"):
        sweep(out, suite="sort-2")


def test_rows_of_an_older_version_are_kept_as_legacy_and_not_taken_for_a_new_config(tmp_path):
    made = [{k: v for k, v in r.items() if k != "config"}
            for r in sweep(tmp_path / "made", n=2).rows()]
    out = tmp_path / "out"
    out.mkdir()
    db = sqlite3.connect(out / "results.sqlite")  # the layout before configurations
    cols = list(made[0])
    db.execute(f"CREATE TABLE episodes ({', '.join(cols)}, PRIMARY KEY (agent, key))")
    db.executemany(f"INSERT INTO episodes VALUES ({', '.join('?' for _ in cols)})",
                   [list(r.values()) for r in made])
    db.commit()
    db.close()
    store = ResultStore(out / "results.sqlite")
    assert [r["config"] for r in store.rows()] == [LEGACY, LEGACY]
    summary = write_report(store, load_suite("push-2", 2), [], out)
    assert summary["agents"]["llm-only"]["episodes"] == 2
    store.close()
    with pytest.raises(StoredElsewise, match="stored by an older wmagent that did not record"):
        sweep(out, n=2)
    assert len(sweep(out, n=2, new=True).rows()) == 2
    assert len(eval_fakes.calls(out / "runs")) == 2


def test_cli_refuses_a_dead_server_where_embedded_rows_are_stored(tmp_path, capsys):
    out = tmp_path / "out"
    sweep(out, agents=("hybrid",), suite="push-2", n=2)
    rc = main(["eval", "--suite", "push-2", "--episodes", "2", "--agents", "hybrid", "--llm",
               "http://127.0.0.1:9/v1", "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert rc == 1 and len(err.splitlines()) == 1
    assert err.startswith(f"wmagent: error: {out} holds results made another way for hybrid "
                          "(llm.adapter: stored planner (shipped)")
    assert "llm.backend: stored embedded, now server" in err and "Pass --new" in err


def test_a_pixel_sweep_builds_pixel_agents_and_is_its_own_configuration(tmp_path):
    out = tmp_path / "out"
    sweep(out, agents=("hybrid",))
    cfg = SweepConfig(("hybrid",), out, obs="pixels", command="eval --obs pixels")
    with pytest.raises(StoredElsewise, match=r"acting\.obs: stored state, now pixels"):
        run_sweep(load_suite("push-2", 4), cfg, factory=eval_fakes.factory)
    fresh = tmp_path / "px"
    cfg = SweepConfig(("hybrid",), fresh, obs="pixels", command="eval --obs pixels")
    run_sweep(load_suite("push-2", 4), cfg, factory=eval_fakes.factory)
    assert {e["obs"] for e in eval_fakes.calls(fresh / "runs", "settings")} == {"pixels"}


def test_a_planner_seed_is_part_of_the_configuration_and_seed_0_keeps_the_old_one():
    base = configuration("hybrid", "foresight", AgentSettings())
    assert "planner_seed" not in base.fingerprint["acting"]  # rows stored before seeds stay
    seeded = configuration("hybrid", "foresight", AgentSettings(planner_seed=1))
    assert seeded.fingerprint["acting"]["planner_seed"] == 1
    assert seeded.id != base.id
    assert configuration("oracle-sim", "foresight", AgentSettings(planner_seed=2)
                         ).fingerprint["acting"] == {"planner": "sim", "planner_seed": 2}
    assert "planner_seed" not in configuration("llm-only", "default", AgentSettings(
        planner_seed=1)).fingerprint.get("acting", {})  # no planner: nothing to seed
    with pytest.raises(ValueError, match="planner_seed must be a non-negative integer"):
        AgentSettings(planner_seed=-1)


def test_a_sweeps_planner_seed_reaches_the_agents_search_in_acting_and_imagining(tmp_path):
    from agent.kinds.registry import make_agent

    agent = make_agent("hybrid", llm=answers(tmp_path, "a.json", "x"), home=tmp_path,
                       planner_seed=3)
    assert agent.resources.executor.seed == 3 and agent.resources.imaginer.seed == 3
    assert make_agent("oracle-plan", home=tmp_path, planner_seed=3).resources.executor.seed == 3
    out = tmp_path / "out"
    cfg = SweepConfig(("hybrid",), out, llm=answers(tmp_path, "b.json", "y"), planner_seed=3)
    run_sweep(load_suite("push-2", 1), cfg, factory=eval_fakes.factory)
    assert {e["planner_seed"] for e in eval_fakes.calls(out / "runs", "settings")} == {3}
