"""The generic path: any Gymnasium env and any (observation, action) episodes.

Collect, train and plan end to end on a tiny env through the CLI; episodes of different
lengths; declared (not assumed) state layouts; the datasets; the errors a user meets.
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tiny_envs  # noqa: F401  (registers Point-v0, DictPoint-v0)
import torch

from agent.cli import main
from worldmodel import Episodes, ModelConfig, TrainConfig, WorldModel
from worldmodel.checkpoint import load, load_packaged
from worldmodel.datasets import read, write_minari
from worldmodel.envs import CollectSettings, collect, make
from worldmodel.planning import CEMPlanner, PlannerConfig
from worldmodel.train import model_config_for

ROOT = Path(__file__).parents[2]
POINT = "tiny_envs:Point-v0"


def test_importing_model_planners_and_fit_needs_no_mujoco_or_opengl():
    code = ("import sys, worldmodel, worldmodel.planning, worldmodel.fit, worldmodel.reach, "
            "worldmodel.datasets, worldmodel.landmarks; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('mujoco', 'OpenGL', 'scenarios', 'glfw')))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env={"PYTHONPATH": str(ROOT), "MUJOCO_GL": "osmesa"}, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip() == "[]"


def test_collect_train_plan_end_to_end_on_a_tiny_env(tmp_path, capsys):
    data, out = tmp_path / "data", tmp_path / "model"
    assert main(["collect", "--env", POINT, "--episodes", "120", "--out", str(data)]) == 0
    eps = read(data).episodes
    assert len(set(eps.lengths.tolist())) > 1  # it terminates at the edge: lengths differ
    assert main(["train", "--env", POINT, "--data", str(data), "--out", str(out),
                 "--steps", "400", "--batch", "64", "--chunk", "2"]) == 0
    rows = [json.loads(x) for x in (out / "model.metrics.jsonl").read_text().splitlines()]
    steps = [r for r in rows if "step" in r]
    assert steps[-1]["loss"] < 0.5 * steps[0]["loss"]  # it learns
    assert rows[-1]["eff_rank"] > 3  # of 32: not collapsed
    model = load(out / "model")
    assert model.config.action_low == (-2.0, -2.0) and model.config.position_dims == (0, 1)
    capsys.readouterr()
    assert main(["plan", "--env", POINT, "--checkpoint", str(out), "--episodes", "10",
                 "--offset", "10", "--budget", "30", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["episodes"] == 10 and report["ci_low"] <= report["success_rate"]
    assert report["success_rate"] >= 0.8, report  # the plans reach their goals
    assert report["ms_per_decision"] > 0


def test_collection_is_seeded_and_resumes(tmp_path):
    collect(CollectSettings(POINT, 3, shard_size=2), tmp_path / "a")
    collect(CollectSettings(POINT, 5, shard_size=2), tmp_path / "a")  # resumes after 3
    collect(CollectSettings(POINT, 5, shard_size=2), tmp_path / "b")
    a, b = read(tmp_path / "a").episodes, read(tmp_path / "b").episodes
    assert len(a) == 5 and torch.equal(a.states, b.states) and torch.equal(a.actions, b.actions)
    with pytest.raises(ValueError, match="holds another collection"):
        collect(CollectSettings(POINT, 5, seed=9), tmp_path / "a")


def test_windows_stay_inside_episodes_of_different_lengths():
    # Observation = (episode, step): a window that crossed episodes would show it.
    lengths = [12, 30, 5, 19]
    obs = [np.stack([np.full(n + 1, e), np.arange(n + 1)], 1) for e, n in enumerate(lengths)]
    acts = [np.arange(n)[:, None] * np.ones(3) for n in lengths]
    eps = Episodes.from_lists(obs, acts)
    o, _, a = eps.sample(500, 3, 2, torch.Generator().manual_seed(0))
    assert o.shape == (500, 4, 2) and a.shape == (500, 3, 2, 3)
    assert (o[:, :, 0] == o[:, :1, 0]).all()  # one episode per window
    assert (o[:, 1:, 1] - o[:, :-1, 1] == 2).all()  # consecutive frames, chunk apart
    assert (a[:, 0, 0, 0] == o[:, 0, 1]).all()  # actions aligned with their observations
    assert set(o[:, 0, 0].long().tolist()) == {0, 1, 3}  # episode 2 is shorter than a window
    train, val = eps.split(0.25)
    assert train.lengths.tolist() == [12, 30, 5] and val.lengths.tolist() == [19]


def test_episodes_and_datasets_whose_lengths_disagree_are_refused(tmp_path):
    with pytest.raises(ValueError, match="one observation more than actions"):
        Episodes.from_lists([np.zeros((5, 2))], [np.zeros((5, 2))])
    h5py = pytest.importorskip("h5py")
    with h5py.File(tmp_path / "bad.hdf5", "w") as f:
        f["observations"] = np.zeros((11, 2))
        f["actions"] = np.zeros((9, 2))
        f["episode_lengths"] = np.array([5, 5])
    with pytest.raises(ValueError, match="the episode lengths disagree with the arrays"):
        read(tmp_path / "bad.hdf5")
    with h5py.File(tmp_path / "partial.hdf5", "w") as f:
        f["observations"] = np.zeros((11, 2))
        f["actions"] = np.zeros((9, 2))
    with pytest.raises(ValueError, match="no 'episode_lengths' dataset"):
        read(tmp_path / "partial.hdf5")


def test_hdf5_episodes_are_read_flat_and_grouped(tmp_path):
    h5py = pytest.importorskip("h5py")
    rng = np.random.default_rng(0)
    obs = [rng.normal(size=(n + 1, 3)) for n in (4, 6)]
    acts = [rng.normal(size=(n, 2)) for n in (4, 6)]
    with h5py.File(tmp_path / "flat.h5", "w") as f:
        f["observations"] = np.concatenate(obs)
        f["actions"] = np.concatenate(acts)
        f["episode_lengths"] = np.array([4, 6])
    with h5py.File(tmp_path / "groups.h5", "w") as f:
        for e in range(2):
            f[f"episode_{e}/observations"] = obs[e]
            f[f"episode_{e}/actions"] = acts[e]
    for name in ("flat.h5", "groups.h5"):
        eps = read(tmp_path / name).episodes
        assert eps.lengths.tolist() == [4, 6]
        assert np.allclose(eps.episode(1)[0].numpy(), obs[1], atol=1e-6)


# Minari asks for an author, an e-mail and a code permalink; a test dataset has none.
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_minari_round_trip(tmp_path, monkeypatch):
    pytest.importorskip("minari")
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    collect(CollectSettings(POINT, 6), tmp_path / "data")
    mine = read(tmp_path / "data").episodes
    folder = write_minari("point/random-v0", mine, POINT)
    for source in ("minari:point/random-v0", folder):
        back = read(source)
        assert back.source == "minari" and back.action_low == (-2.0, -2.0)
        assert torch.equal(back.episodes.lengths, mine.lengths)
        assert torch.allclose(back.episodes.states, mine.states)
        assert torch.allclose(back.episodes.actions, mine.actions)


def test_clear_errors_for_spaces_the_model_cannot_use(tmp_path):
    with pytest.raises(ValueError, match="Discrete action space.*1-D Box"):
        make("CartPole-v1")
    with pytest.raises(ValueError, match=r"Dict with keys \['goal', 'pos'\]; choose.*--obs-key"):
        make("tiny_envs:DictPoint-v0")
    env, observe = make("tiny_envs:DictPoint-v0", obs_key="pos")
    assert observe(env.reset(seed=0)[0]).shape == (2,)
    assert main(["collect", "--env", "CartPole-v1", "--episodes", "1", "--out",
                 str(tmp_path / "c")]) == 1


def test_goal_embeddings_touch_only_declared_velocity_entries():
    state = np.arange(6, dtype=float)
    plain = WorldModel(ModelConfig(scenario="x", state_dim=6, n_dynamic=6, latent_dim=4,
                                   hidden=8))
    assert CEMPlanner(plain).goal_embeddings(state).shape == (1, 4)  # nothing assumed
    seen = []

    class Spy(WorldModel):
        def encode(self, obs):
            seen.append(obs.clone())
            return super().encode(obs)

    declared = Spy(ModelConfig(scenario="x", state_dim=6, n_dynamic=6, latent_dim=4, hidden=8,
                               goal_velocity_dims=(4, 5)))
    z = CEMPlanner(declared, PlannerConfig(goal_speeds=(0.2,))).goal_embeddings(state)
    assert z.shape == (9, 4)
    changed = (seen[0] != torch.as_tensor(state)).any(0)
    assert changed.tolist() == [False] * 4 + [True, True]


def test_rest_windows_need_declared_velocities():
    eps = Episodes.from_lists([np.zeros((20, 4))], [np.zeros((19, 2))])
    with pytest.raises(ValueError, match="declare ModelConfig.velocity_dims"):
        eps.sample(8, 2, 2, torch.Generator(), rest_fraction=0.5)
    o, _, a = eps.sample(8, 2, 2, torch.Generator(), rest_fraction=0.5, velocity_dims=(2, 3))
    assert (a[:4] == 0).all()


def test_actions_are_read_in_the_envs_units():
    m = WorldModel(ModelConfig(scenario="x", state_dim=2, n_dynamic=2, latent_dim=4, hidden=8,
                               action_dim=1, chunk=1, action_low=(0.0,), action_high=(4.0,)))
    z = torch.zeros(1, 4)
    assert torch.equal(m.predict(z, torch.full((1, 1, 1), 4.0)),
                       m.predictor(z, torch.ones(1, 1, 1)))
    d = CEMPlanner(m, PlannerConfig(samples=16, elites=4, iterations=1, horizon=2)).plan(
        np.zeros(2), np.ones(2))
    assert d.actions.shape == (2, 1, 1) and 0 <= d.actions.min() and d.actions.max() <= 4


def test_scene_checkpoints_read_as_the_layout_they_always_had():
    model = load_packaged("push")
    assert model.config == model_config_for("push", "state", "jepa", **{
        k: getattr(model.config, k) for k in ("latent_dim", "hidden", "chunk")})
    assert model.config.goal_velocity_dims == (2, 3)
    assert model.config.position_dims[:4] == (0, 1, 4, 5)


def test_fit_trains_on_episodes_in_memory(tmp_path):
    rng = np.random.default_rng(0)
    obs, acts = [], []
    for n in rng.integers(20, 40, 30):
        a = rng.uniform(-1, 1, (n, 2))
        obs.append(np.concatenate([[rng.uniform(-1, 1, 2)], 0.05 * a]).cumsum(0))
        acts.append(a)
    model = WorldModel(ModelConfig(scenario="toy", state_dim=2, n_dynamic=2, latent_dim=8,
                                   hidden=32, chunk=2))
    final = model.fit(Episodes.from_lists(obs, acts),
                      TrainConfig(steps=150, batch=32, probe_steps=50, log_every=50),
                      out=tmp_path)
    rows = [json.loads(x) for x in (tmp_path / "model.metrics.jsonl").read_text().splitlines()]
    assert rows[-2]["loss"] < 0.7 * rows[0]["loss"]
    # a 2-D state: about two directions of spread, not a point
    assert final["eff_rank"] > 1.5 and final["emb_std"] > 0.3


def test_landmark_route_goes_round_what_the_data_never_crossed():
    from worldmodel.landmarks import LandmarkConfig, LandmarkPlanner

    class Identity(WorldModel):
        def encode(self, obs):
            return obs.float()

    # Two recorded episodes along a U: up the west side, across the north, down the east.
    # Nothing was recorded across the middle, where a wall would stand.
    t = np.linspace(0, 1, 101)[:, None]
    west_north = np.concatenate([np.hstack([-0.5 + 0 * t, -0.5 + t]),
                                 np.hstack([-0.5 + 0.5 * t, 0.5 + 0 * t])])
    north_east = np.concatenate([np.hstack([0.5 * t, 0.5 + 0 * t]),
                                 np.hstack([0.5 + 0 * t, 0.5 - t])])
    eps = Episodes.from_lists([west_north, north_east],
                              [np.zeros((len(west_north) - 1, 2)),
                               np.zeros((len(north_east) - 1, 2))])
    model = Identity(ModelConfig(scenario="u", state_dim=2, n_dynamic=2, latent_dim=2,
                                 hidden=4))
    planner = LandmarkPlanner(model, eps, LandmarkConfig(stride=5, hops=3))
    path = planner.route(np.array([-0.5, -0.45]), np.array([0.5, -0.45]))
    ys = planner.obs[path, 1]
    assert len(path) > 20 and float(ys.max()) > 0.45  # by the north, not straight across
    # near the goal, the planner aims at the goal itself
    assert len(planner.route(np.array([0.5, -0.3]), np.array([0.5, -0.45]))) <= 5


def test_collect_train_plan_from_frames_alone_on_a_tiny_env(tmp_path, capsys):
    data, out = tmp_path / "data", tmp_path / "model"
    assert main(["collect", "--env", POINT, "--episodes", "100", "--pixels", "32",
                 "--out", str(data)]) == 0
    eps = read(data).episodes
    assert eps.pixels.shape == (eps.states.shape[0], 32, 32, 3)  # a frame per observation
    assert main(["train", "--env", POINT, "--data", str(data), "--out", str(out),
                 "--obs", "pixels", "--image-size", "32", "--idm-weight", "1.0",
                 "--steps", "150", "--batch", "16", "--chunk", "2"]) == 0
    rows = [json.loads(x) for x in (out / "model.metrics.jsonl").read_text().splitlines()]
    steps = [r for r in rows if "step" in r]
    assert steps[-1]["loss"] < 0.5 * steps[0]["loss"]  # it learns
    # Not collapsed: the embedding spreads, over at least the two dimensions the point has.
    assert rows[-1]["emb_std"] > 0.1 and rows[-1]["eff_rank"] > 2
    model = load(out / "model")
    assert (model.config.obs, model.config.image_size, model.config.frames) == ("pixels", 32, 2)

    class FramesOnly(CEMPlanner):
        def plan(self, state, goal_state):  # the vector path: a pixel run must never take it
            raise AssertionError("the pixel planner was handed a state vector")

    from worldmodel.reach import evaluate_goals

    report = evaluate_goals(POINT, model, episodes=10, offset=10, budget=30,
                            planner=FramesOnly(model, PlannerConfig()))
    assert report.success_rate >= 0.6, report  # from frames alone, the plans reach the goals
    capsys.readouterr()
    assert main(["plan", "--env", POINT, "--checkpoint", str(out), "--episodes", "3",
                 "--offset", "10", "--budget", "30", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["episodes"] == 3
    # An env that observes its images: the frames are that Dict entry, not a rendering.
    seen = "tiny_envs:SeenPoint-v0"
    collect(CollectSettings(seen, 3, obs_key="pos", pixels=32, pixels_key="image"),
            tmp_path / "seen")
    assert torch.equal(read(tmp_path / "seen", "pos").episodes.pixels, eps.pixels[:len(
        read(tmp_path / "seen", "pos").episodes.pixels)])  # the same frames as rendered
    report = evaluate_goals(seen, model, episodes=10, offset=10, budget=30, obs_key="pos",
                            pixels_key="image", planner=FramesOnly(model, PlannerConfig()))
    assert report.success_rate >= 0.6, report


def test_a_frozen_backbone_of_ones_own_keeps_its_weights_and_the_model_learns(tmp_path):
    from worldmodel import checkpoint
    from worldmodel.datasets import read as read_data
    from worldmodel.train import model_config_for_data

    collect(CollectSettings(POINT, 60, pixels=32), tmp_path / "data")
    dataset = read_data(tmp_path / "data")
    mc = model_config_for_data(POINT, dataset, obs="pixels", encoder="tiny_envs:backbone",
                               frames=2, chunk=2, latent_dim=16, hidden=64)
    model = WorldModel(mc)
    loaded = {k: v.clone() for k, v in model.encoder.backbone.state_dict().items()}
    rows = []
    model.fit(dataset.episodes, TrainConfig(steps=120, batch=16, log_every=20, probe_steps=50),
              progress=lambda step, row: rows.append(row))
    steps = [r for r in rows if "loss" in r]
    assert steps[-1]["loss"] < steps[0]["loss"]  # the head on its features learns
    for k, v in model.encoder.backbone.state_dict().items():
        assert torch.equal(v, loaded[k]), k  # frozen: exactly the weights the factory loaded
    checkpoint.save(model, tmp_path / "m")
    again = checkpoint.load(tmp_path / "m")
    frames = dataset.episodes.pixels[:4][:, None].expand(-1, 2, -1, -1, -1)
    assert torch.allclose(again.encode(frames), model.eval().encode(frames), atol=1e-6)
    with pytest.raises(ValueError, match="cannot load the backbone factory"):
        WorldModel(ModelConfig(POINT, obs="pixels", encoder="no_such_module:net", state_dim=2,
                               n_dynamic=2))
