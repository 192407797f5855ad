"""The command line as a person meets it: real subprocesses, exit codes, one-line errors."""

import json
import subprocess
import sys

import pytest


def wmagent(*args):
    return subprocess.run([sys.executable, "-m", "agent.cli", *args], capture_output=True,
                          text=True, timeout=120)


def test_help_lists_the_commands():
    r = wmagent("--help")
    assert r.returncode == 0
    for cmd in ("scenarios", "collect"):
        assert cmd in r.stdout


def test_scenarios_list_json():
    r = wmagent("scenarios", "list", "--json")
    assert r.returncode == 0
    assert [s["name"] for s in json.loads(r.stdout)] == [
        "clutter", "fragile", "ledge", "pads", "push", "rooms", "sort"]


def test_show_writes_a_png(tmp_path):
    png = tmp_path / "scene.png"
    r = wmagent("scenarios", "show", "sort", "--seed", "3", "--png", str(png), "--size", "64")
    assert r.returncode == 0, r.stderr
    assert "red block" in r.stdout or "block" in r.stdout
    assert png.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("args, code, text", [
    (["scenarios", "show", "kitchen"], 1,
     "unknown scenario 'kitchen'; choose one of: clutter, fragile, ledge"),
    (["collect", "push", "--episodes", "0"], 2, "'--episodes'"),
    (["collect", "push", "--bogus"], 2, "No such option: --bogus"),
    (["scenarios", "frobnicate"], 2, "No such command"),
])
def test_bad_arguments_get_one_actionable_line(args, code, text):
    r = wmagent(*args)
    assert r.returncode == code
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and text in lines[0], r.stderr
    assert lines[0].startswith("wmagent")


def test_collect_command_writes_a_dataset(tmp_path):
    r = wmagent("collect", "rooms", "--episodes", "3", "--steps", "5", "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "dataset.json").read_text())["config"]["episodes"] == 3


def test_imagine_writes_the_prediction_over_the_simulation_as_a_video(tmp_path):
    import imageio.v2 as imageio

    out = tmp_path / "imagined.gif"
    r = wmagent("imagine", "go to the blue zone", "--scenario", "push", "--seed", "1",
                "--video", str(out))
    assert r.returncode == 0, r.stderr
    assert "imagined:" in r.stdout and out.exists()
    frames = imageio.mimread(out)
    assert len(frames) > 5 and frames[0].shape[:2] == (256, 256)
