"""Every example script runs, as a person would run it, on a small budget."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


def run(tmp_path, script, *args, timeout=600):
    env = {**os.environ, "WMAGENT_HOME": str(tmp_path / "home"), "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, str(ROOT / "examples" / script), *args], cwd=tmp_path,
                       env=env, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout


def test_custom_scenario(tmp_path):
    out = run(tmp_path, "custom_scenario.py", "--seed", "1", "--png", "c.png")
    assert "reached the red pad" in out and (tmp_path / "c.png").exists()


def test_what_if(tmp_path):
    out = run(tmp_path, "what_if.py", "--scenario", "pads", "--seed", "2")
    assert "imagined:" in out and "real: agent at" in out


def test_compare_agents(tmp_path):
    out = run(tmp_path, "compare_agents.py", "--agents", "oracle-plan,oracle-script",
              "--scenario", "pads", "--episodes", "2")
    assert "oracle-plan" in out and "oracle-script" in out and "tasks" in out


@pytest.mark.integration
def test_run_agent_with_the_embedded_llm(tmp_path):
    out = run(tmp_path, "run_agent.py", "--scenario", "pads", "--subgoals", "1",
              "--video", "ep.mp4")
    assert "plan:" in out and "ground truth:" in out
    assert (tmp_path / "ep.mp4").exists()


def test_own_mjcf_env_collects_trains_and_plans(tmp_path):
    """examples/own_env: a user's MJCF file as `slider_env:Slider-v0`, through the CLI."""
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'examples' / 'own_env'}"}
    env_id = "slider_env:Slider-v0"

    def wmagent(*args):
        r = subprocess.run([sys.executable, "-m", "agent.cli", *args], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stderr[-2000:]
        return r.stdout

    wmagent("collect", "--env", env_id, "--episodes", "60", "--steps", "40", "--out", "data")
    wmagent("train", "--env", env_id, "--data", "data", "--out", "model", "--steps", "300",
            "--batch", "64")
    report = json.loads(wmagent("plan", "--env", env_id, "--checkpoint", "model", "--episodes",
                                "10", "--offset", "10", "--budget", "30", "--json"))
    assert report["episodes"] == 10 and report["success_rate"] >= 0.5, report
