import json

import numpy as np
import pytest

from scenarios.collect import CollectConfig, collect, load


def test_collection_has_documented_shapes_and_moves_blocks(tmp_path):
    cfg = CollectConfig("push", episodes=12, steps=30, shard_size=5)
    collect(cfg, tmp_path)
    manifest, data = load(tmp_path)
    assert data["state"].shape == (12, 31, manifest["state_dim"])
    assert data["action"].shape == (12, 30, 2)
    assert data["state"].dtype == np.float32 and np.abs(data["action"]).max() <= 1.0
    assert sorted(set(data["policy"].tolist())) == [0, 1, 2]
    assert len(manifest["shards"]) == 3
    block = data["state"][:, :, 4:6]
    assert (np.abs(np.diff(block, axis=1)).sum(-1) > 1e-3).mean() > 0.05, "blocks never move"


def test_interrupted_collection_resumes_without_losing_or_repeating(tmp_path):
    cfg = CollectConfig("pads", episodes=6, steps=10, shard_size=2)
    collect(cfg, tmp_path / "whole")

    def crash_after_three(n):
        if n == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        collect(cfg, tmp_path / "part", progress=crash_after_three)
    assert len(json.loads((tmp_path / "part/dataset.json").read_text())["shards"]) == 1
    collect(cfg, tmp_path / "part")
    _, whole = load(tmp_path / "whole")
    _, part = load(tmp_path / "part")
    for k in whole:
        np.testing.assert_array_equal(whole[k], part[k])


def test_other_settings_in_the_same_directory_are_refused(tmp_path):
    collect(CollectConfig("pads", episodes=2, steps=5), tmp_path)
    with pytest.raises(ValueError, match="already holds a collection made with other settings"):
        collect(CollectConfig("pads", episodes=3, steps=5), tmp_path)


def test_pixels_are_stored_when_asked(tmp_path):
    collect(CollectConfig("pads", episodes=1, steps=3, pixels=24), tmp_path)
    _, data = load(tmp_path)
    assert data["pixels"].shape == (1, 4, 24, 24, 3) and data["pixels"].dtype == np.uint8


def test_bad_config_names_the_field():
    with pytest.raises(ValueError, match="mix must be three non-negative fractions"):
        CollectConfig("pads", episodes=1, mix=(0.5, 0.5, 0.5))
    with pytest.raises(FileNotFoundError, match="wmagent collect"):
        load("/nonexistent/place")


def test_scatter_starts_some_episodes_with_the_blocks_elsewhere(tmp_path):
    from scenarios import world_for

    collect(CollectConfig("clutter", episodes=20, steps=5, scatter=0.5), tmp_path)
    manifest, data = load(tmp_path)
    assert manifest["config"]["scatter"] == 0.5
    moved = [not np.allclose(data["state"][i, 0], world_for("clutter", int(s)).state(),
                             atol=1e-4) for i, s in enumerate(data["seed"])]
    assert 3 <= sum(moved) <= 17  # about half, from a seeded draw
    blocks = data["state"][:, 0, 4:16].reshape(20, 3, 4)[:, :, :2]
    gaps = np.linalg.norm(blocks[:, :, None] - blocks[:, None], axis=-1) + 9 * np.eye(3)
    assert gaps.min() > 0.15  # never stacked on top of each other


def test_a_collection_made_before_scatter_existed_still_resumes(tmp_path):
    collect(CollectConfig("pads", episodes=2, steps=5, shard_size=1), tmp_path)
    path = tmp_path / "dataset.json"
    manifest = json.loads(path.read_text())
    del manifest["config"]["scatter"]
    manifest["shards"] = manifest["shards"][:1]
    path.write_text(json.dumps(manifest))
    collect(CollectConfig("pads", episodes=2, steps=5, shard_size=1), tmp_path)
    assert load(tmp_path)[1]["state"].shape[0] == 2


def test_a_ledge_collection_holds_falls(tmp_path):
    from scenarios import world_for
    from scenarios.side_effects import fell

    collect(CollectConfig("ledge", episodes=16, steps=100, mix=(0.0, 0.0, 1.0)), tmp_path)
    _, data = load(tmp_path)
    falls = sum(any(fell(world_for("ledge", int(s)).layout, ep[-1], i) for i in range(2))
                for ep, s in zip(data["state"], data["seed"], strict=True))
    assert falls >= 2, "the world model must see blocks fall to predict falls"


def test_collecting_in_worker_processes_gives_the_same_episodes(tmp_path):
    cfg = CollectConfig("fragile", episodes=12, steps=10, shard_size=4, scatter=0.5)
    one, two = tmp_path / "one", tmp_path / "two"
    seen = []
    collect(cfg, one)
    collect(cfg, two, progress=seen.append, workers=2)
    a, b = load(one)[1], load(two)[1]
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    assert seen[0] == 0 and seen[-1] == 12
