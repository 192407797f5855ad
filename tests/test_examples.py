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


def test_the_pendulum_policies_keep_it_up_for_goals_and_let_it_fall_for_data(monkeypatch):
    import gymnasium as gym
    import numpy as np

    monkeypatch.syspath_prepend(str(ROOT / "examples" / "pendulum"))
    from balance import make_goal_policy, make_policy

    env = gym.make("InvertedDoublePendulum-v5")

    def lasts(factory, seed):
        obs, _ = env.reset(seed=seed)
        act = factory(env, seed)
        for t in range(200):
            obs, _, terminated, _, _ = env.step(act(obs))
            if terminated:
                return t + 1
        return 200

    assert all(lasts(make_goal_policy, s) == 200 for s in range(5))  # goals 100+ steps out
    data = [lasts(make_policy, s) for s in range(20)]
    assert min(data) < 200 and np.mean(data) > 50  # the data holds falls, and long episodes


def test_the_example_backbone_reads_frames_with_the_shipped_keypoint_trunk(monkeypatch):
    import torch

    monkeypatch.syspath_prepend(str(ROOT / "examples" / "backbones"))
    from worldmodel import ModelConfig, WorldModel

    model = WorldModel(ModelConfig("rooms", obs="pixels", encoder="pretrained:pads_keypoints",
                                   frames=2, state_dim=4, n_dynamic=4))
    assert not any(p.requires_grad for p in model.encoder.backbone.parameters())  # frozen
    z = model.encode(torch.randint(0, 255, (3, 2, 48, 48, 3), dtype=torch.uint8))
    assert z.shape == (3, model.config.latent_dim) and torch.isfinite(z).all()
