"""A tiny training run: the loss falls, embeddings keep their rank; checkpoints round-trip."""

import json
from dataclasses import replace

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from scenarios.collect import CollectConfig, collect
from worldmodel import checkpoint, load
from worldmodel.config import TrainConfig
from worldmodel.imagine import imagine
from worldmodel.train import model_config_for, train


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    path = tmp_path_factory.mktemp("data")
    collect(CollectConfig("pads", 60, steps=40, seed=0), path)
    return path


@pytest.fixture(scope="module")
def trained(tiny_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    mc = model_config_for("pads", "state", "jepa", latent_dim=16, hidden=64)
    tc = TrainConfig(steps=150, batch=64, log_every=50, probe_steps=400, val_fraction=0.2)
    final = train(mc, tc, out, data=tiny_data, command="test")
    rows = [json.loads(x) for x in (out / "model.metrics.jsonl").read_text().splitlines()]
    return out, mc, final, rows


def test_tiny_jepa_run_loss_falls_and_rank_holds(trained):
    out, mc, final, rows = trained
    steps = [r for r in rows if "step" in r]
    assert steps[-1]["loss"] < 0.6 * steps[0]["loss"]
    assert final["eff_rank"] > 4  # of 16: not collapsed to a line or a point
    assert final["emb_std"] > 0.3
    assert final["pred_err_h1"] < final["pred_err_h6"]  # errors grow with the horizon
    assert final["probe_rmse"] < 0.95 * steps[0]["probe_rmse"]  # the probe reads more out
    for key in ("pred_err_h1", "pred_err_h6", "emb_std", "eff_rank", "probe_rmse"):
        assert key in steps[-1]


def test_checkpoint_round_trip(trained):
    out, mc, _, _ = trained
    model = load(out / "model")
    assert model.config == mc
    x = torch.randn(3, mc.state_dim)
    again = checkpoint.save(model, out / "copy")
    assert torch.equal(load(again).encode(x), model.encode(x))
    assert checkpoint.read_info(out / "model")["command"] == "test"


def test_loading_refuses_a_mismatched_config(trained, tmp_path):
    out, mc, _, _ = trained
    with pytest.raises(ValueError, match=r"latent_dim: checkpoint 16, expected 32.*wmagent train"):
        load(out / "model", expect=model_config_for("pads", "state", "jepa", hidden=64))
    # A JSON from another run beside these weights is refused, naming the fields.
    info = json.loads((out / "model.json").read_text())
    info["config"]["latent_dim"] = 32
    (tmp_path / "m.json").write_text(json.dumps(info))
    tensors = load_file(str(out / "model.safetensors"))
    save_file(tensors, str(tmp_path / "m.safetensors"),
              metadata={"config": json.dumps(mc.to_dict(), sort_keys=True)})
    with pytest.raises(ValueError, match=r"fields \['latent_dim'\] differ"):
        load(tmp_path / "m")
    with pytest.raises(FileNotFoundError, match="wmagent train"):
        load(tmp_path / "nothing")


def test_resume_continues_where_it_stopped(tiny_data, tmp_path):
    mc = model_config_for("pads", "state", "jepa", latent_dim=8, hidden=32)
    train(mc, TrainConfig(steps=20, batch=16, log_every=10, probe_steps=0), tmp_path,
          data=tiny_data)
    final = train(mc, TrainConfig(steps=30, batch=16, log_every=10, probe_steps=0), tmp_path,
                  data=tiny_data, resume=True)
    rows = [json.loads(x) for x in (tmp_path / "model.metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "step" in r] == [1, 10, 20, 30]
    assert final["train_seconds"] > 0


def test_inverse_dynamics_term_learns_the_actions_and_resumes(tiny_data, tmp_path):
    mc = model_config_for("pads", "state", "jepa", latent_dim=8, hidden=32)
    tc = TrainConfig(steps=200, batch=32, lr=3e-3, log_every=50, probe_steps=0, idm_weight=1.0)
    train(mc, tc, tmp_path, data=tiny_data)
    rows = [json.loads(x) for x in (tmp_path / "model.metrics.jsonl").read_text().splitlines()]
    idm = [r["idm"] for r in rows if "idm" in r]
    assert len(idm) == 5 and idm[-1] < 0.7 * idm[0]  # actions are readable from (z, z')
    train(mc, replace(tc, steps=220), tmp_path, data=tiny_data, resume=True)
    with pytest.raises(ValueError, match="idm_weight=-1.0 is invalid"):
        TrainConfig(idm_weight=-1.0)


def test_reconstruction_objective_trains_on_the_same_data(tiny_data, tmp_path):
    mc = model_config_for("pads", "state", "reconstruction", latent_dim=8, hidden=32)
    final = train(mc, TrainConfig(steps=30, batch=16, log_every=10, probe_steps=10), tmp_path,
                  data=tiny_data)
    assert np.isfinite(final["probe_rmse"])
    assert load(tmp_path / "model").config.objective == "reconstruction"


def test_imagine_actions_and_subgoal(trained):
    from scenarios import Subgoal, world_for

    out, _, _, _ = trained
    model = load(out / "model")
    world = world_for("pads", 0)
    im = imagine(model, world.state(), np.ones((7, 2)), world)
    assert im.actions.shape == (7, 2) and im.states.shape == (3, world.spec.dim)
    assert im.reached is None and "model predicts agent at" in im.describe(world)
    sg = Subgoal(skill="go", object="agent", target=world.layout.targets[0].name)
    im = imagine(model, world.state(), sg, world, max_steps=20)
    assert im.actions.shape[0] <= 20 and isinstance(im.reached, bool)


def test_pixel_model_trains_and_plans_from_rendered_frames(tmp_path):
    from scenarios import world_for
    from worldmodel.planning import PlannerConfig, make_planner

    mc = model_config_for("pads", "pixels", "jepa", image_size=32, latent_dim=8, hidden=32)
    tc = TrainConfig(steps=4, batch=4, horizon=2, episodes=6, episode_steps=12, log_every=2,
                     probe_steps=2, val_fraction=0.2)
    final = train(mc, tc, tmp_path, name="px")  # collects 32 px frames into OUT/data first
    model = load(tmp_path / "px")
    assert model.config.obs == "pixels" and np.isfinite(final["eff_rank"])
    world = world_for("pads", 0)
    planner = make_planner("cem", model=model, world=world,
                           config=PlannerConfig(samples=8, elites=2, iterations=1))
    assert planner.plan(world.state(), world.state()).actions.shape == (6, 5, 2)


def test_stacked_frames_are_one_latent_step_apart_and_stay_in_their_episode():
    from worldmodel.data import Episodes

    # two episodes of 6 actions; each frame's pixels hold its global index
    obs = [np.zeros((7, 2), np.float32), np.zeros((7, 2), np.float32)]
    acts = [np.zeros((6, 2), np.float32)] * 2
    px = [np.arange(7, dtype=np.uint8)[:, None, None, None] * np.ones((1, 4, 4, 3), np.uint8),
          (7 + np.arange(7, dtype=np.uint8))[:, None, None, None] * np.ones((1, 4, 4, 3),
                                                                          np.uint8)]
    eps = Episodes.from_lists(obs, acts, px)
    idx = eps.history(torch.tensor([0, 3, 6, 7, 9, 13]), 2, 2)
    assert idx.tolist() == [[0, 0], [1, 3], [4, 6], [7, 7], [7, 9], [11, 13]]
    o, _, _ = eps.sample(16, 2, 2, torch.Generator().manual_seed(0), frames=2, gap=2)
    assert o.shape == (16, 3, 2, 4, 4, 3)
    newest, older = o[:, :, 1, 0, 0, 0].long(), o[:, :, 0, 0, 0, 0].long()
    first = torch.where(newest < 7, 0, 7)
    assert torch.equal(older, torch.maximum(newest - 2, first))


def test_a_pixel_planner_plans_from_frames_alone(tmp_path):
    """No state vector at plan time: the planner reads a frame and a goal frame."""
    from scenarios import world_for
    from worldmodel.planning import PlannerConfig, make_planner

    mc = model_config_for("pads", "pixels", "jepa", image_size=32, latent_dim=8, hidden=32,
                          encoder="keypoints", frames=2)
    tc = TrainConfig(steps=3, batch=4, horizon=2, episodes=4, episode_steps=12, log_every=2,
                     probe_steps=2, val_fraction=0.25, idm_weight=1.0)
    train(mc, tc, tmp_path, name="px")
    model = load(tmp_path / "px")
    assert (model.config.encoder, model.config.frames) == ("keypoints", 2)
    world = world_for("pads", 0)
    planner = make_planner("cem", model=model, world=world,
                           config=PlannerConfig(samples=8, elites=2, iterations=1))
    frame = world.render(width=32)
    goal = world.render(world.goal_states(world.random_subgoal(np.random.default_rng(0),
                                                               "go"))[0], 32)
    d = planner.plan_obs(frame, goal)
    assert d.actions.shape == (6, 5, 2) and np.isfinite(d.actions).all()
    assert len(planner._past) == 1  # the frame is kept: the next decision sees speed
    snap = planner.snapshot()
    again = make_planner("cem", model=model, world=world,
                         config=PlannerConfig(samples=8, elites=2, iterations=1))
    again.restore(snap)
    assert np.array_equal(again._past[0], frame)

    # Goals already rendered are not rendered again, even when another goal came between
    # (a push alternates two), and a restored planner renders the goals its snapshot's
    # planner had: the decisions of a resumed run equal the uninterrupted run's.
    state = world.state()
    rng = np.random.default_rng(1)
    goal_a, goal_b = (world.goal_states(world.random_subgoal(rng, "go"))[0] for _ in "ab")
    first = make_planner("cem", model=model, world=world,
                         config=PlannerConfig(samples=8, elites=2, iterations=1))
    first.plan(state, goal_a)
    first.plan(state, goal_b)
    snap = first.snapshot()
    renders = []
    seen = first.observe
    first.observe = lambda s: renders.append(1) or seen(s)
    a = first.plan(state, goal_a).actions
    assert not renders[1:]  # only the current frame was rendered, not the 17 goal frames
    resumed = make_planner("cem", model=model, world=world,
                           config=PlannerConfig(samples=8, elites=2, iterations=1))
    resumed.restore(snap)
    assert np.allclose(resumed.plan(state, goal_a).actions, a)


@pytest.mark.parametrize("family", ["pads", "rooms"])
def test_the_rendered_goal_frame_shows_the_subgoal_achieved(family):
    """The goal a pixel planner aims at is a frame: in it, the agent (the darkest pixels) sits
    on the pad, and the state it was rendered from satisfies the subgoal."""
    from scenarios import Subgoal, world_for
    from scenarios.world import view_half

    world = world_for(family, 4)
    size = 96
    for t in [t for t in world.layout.targets if t.kind == "pad"][:3]:
        sg = Subgoal(skill="go", object="agent", target=t.name)
        goal = world.goal_states(sg)[-1]
        assert world.holds(sg, goal)
        away = goal.copy()
        away[0:2] = -np.asarray(t.pos)  # the agent elsewhere: what changes is the agent
        frame, other = (world.render(s, size).astype(int) for s in (goal, away))
        rows, cols = np.nonzero((np.abs(frame - other).sum(-1) > 60) & (frame.max(-1) < 60))
        half = view_half(world.layout)
        x = (cols.mean() + 0.5) / size * 2 * half - half
        y = half - (rows.mean() + 0.5) / size * 2 * half
        assert np.hypot(x - t.pos[0], y - t.pos[1]) < t.radius, (t.name, x, y, t.pos)


def test_masked_frame_pretraining_learns_and_keeps_rank(tmp_path):
    """I-JEPA's term on frames: predicting a whole frame's embedding from a masked copy gets
    better during the pretraining steps, SIGReg keeps the embeddings spread, and the world
    model's terms then join."""
    from worldmodel.fit import masked_frames

    pixels = collect(CollectConfig("pads", 12, steps=20, seed=0, pixels=32), tmp_path / "d")
    mc = model_config_for("pads", "pixels", "jepa", image_size=32, latent_dim=8, hidden=32,
                          encoder="keypoints", frames=2)
    tc = TrainConfig(steps=160, batch=32, horizon=2, log_every=20, probe_steps=2,
                     val_fraction=0.2, mask_weight=1.0, pretrain_steps=120)
    final = train(mc, tc, tmp_path, data=pixels)
    rows = [json.loads(x) for x in (tmp_path / "model.metrics.jsonl").read_text().splitlines()]
    pre = [r for r in rows if "step" in r and r["step"] <= 120]
    post = [r for r in rows if "step" in r and r["step"] > 120]
    # relative to the targets' variance: 1 is no better than their mean
    assert "tf" not in pre[-1] and max(r["mask"] for r in pre[-3:]) < 0.7
    # not collapsed (a collapsed encoder has rank 1 and no spread)
    assert {"tf", "mask"} <= set(post[-1]) and final["eff_rank"] > 1.5
    assert final["emb_std"] > 0.05
    x = torch.ones(3, 6, 32, 32)
    hidden = masked_frames(x, 0.4, torch.Generator().manual_seed(0))
    share = 1 - float(hidden.mean())
    assert 0.2 < share < 0.6 and bool((hidden[:, 0] == hidden[:, 5]).all())
    with pytest.raises(ValueError, match="pretraining needs the masked-frame term"):
        TrainConfig(steps=10, pretrain_steps=5)
