"""Episodes on disk, in any of the formats `wmagent train --data` reads, and Minari output.

`read(path)` recognises:
  - a folder from `wmagent collect --env` (`worldmodel.envs`, dataset.json format
    'wmagent-env-episodes');
  - a Minari dataset: `minari:DATASET_ID` (a local dataset, never downloaded) or its folder
    (the one holding data/main_data.hdf5);
  - an HDF5 file (.hdf5, .h5) holding either one group per episode with `observations`
    (T+1, S) and `actions` (T, A) (the layout Minari writes), or flat `observations`
    (sum T_e+1, S), `actions` (sum T_e, A) and `episode_lengths` (E,) (T_e per episode).
A missing field is named in the error. This project's scene collections are read by
`worldmodel.train.load_episodes`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from worldmodel.data import Episodes
from worldmodel.envs import FORMAT, EnvLayout


@dataclass
class Dataset:
    """Episodes and what is known of where they came from."""

    episodes: Episodes
    env_id: str | None = None
    """the Gymnasium env id that produced them, when the file says"""
    action_low: tuple[float, ...] = ()
    action_high: tuple[float, ...] = ()
    layout: EnvLayout = field(default_factory=EnvLayout)
    source: str = ""
    """the format read: 'collection', 'minari' or 'hdf5'"""


def read(path: str | os.PathLike, obs_key: str | None = None) -> Dataset:
    """Read episodes from `path` (see the module docstring for the formats)."""
    text = str(path)
    if text.startswith("minari:"):
        return read_minari(text.removeprefix("minari:"), obs_key)
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"no dataset at {p}; make one with `wmagent collect --env ENV "
                                f"--out {p}` or give a Minari dataset as minari:ID")
    if p.is_file():
        return read_hdf5(p, obs_key)
    if (p / "dataset.json").exists():
        manifest = json.loads((p / "dataset.json").read_text())
        if manifest.get("format") != FORMAT:
            raise ValueError(f"{p} is a scene collection, not an env collection; train on it "
                             "with `wmagent train SCENARIO --data DIR`")
        return read_collection(p, manifest)
    if (p / "data" / "main_data.hdf5").exists():
        return read_minari(p, obs_key)
    raise ValueError(f"{p} is neither a `wmagent collect --env` folder, a Minari dataset nor "
                     "an HDF5 file; see `worldmodel.datasets` for the formats")


def read_collection(folder: Path, manifest: dict) -> Dataset:
    """A folder written by `worldmodel.envs.collect`."""
    from safetensors.numpy import load_file

    obs, acts, lengths, frames = [], [], [], []
    for shard in manifest["shards"]:
        t = load_file(str(folder / shard["file"]))
        obs.append(t["observations"])
        acts.append(t["actions"])
        lengths.append(t["lengths"])
        if "pixels" in t:
            frames.append(t["pixels"])
    if not obs:
        raise ValueError(f"{folder} holds no finished shard yet; run the collection again")
    return Dataset(_split_flat(np.concatenate(obs), np.concatenate(acts),
                               np.concatenate(lengths), str(folder),
                               np.concatenate(frames) if frames else None),
                   manifest["settings"]["env_id"], tuple(manifest["action_low"]),
                   tuple(manifest["action_high"]), EnvLayout(**{
                       k: tuple(v) if isinstance(v, list) else v
                       for k, v in manifest["layout"].items()}), "collection")


def _split_flat(obs: np.ndarray, acts: np.ndarray, lengths: np.ndarray, where: str,
                pixels: np.ndarray | None = None) -> Episodes:
    lengths = np.asarray(lengths, np.int64)
    if len(obs) != int((lengths + 1).sum()) or len(acts) != int(lengths.sum()):
        raise ValueError(f"{where}: {len(lengths)} episodes of {int(lengths.sum())} steps need "
                         f"{int((lengths + 1).sum())} observations and {int(lengths.sum())} "
                         f"actions, but it holds {len(obs)} and {len(acts)}; the episode "
                         "lengths disagree with the arrays")
    o_cut = np.cumsum(lengths + 1)[:-1]
    a_cut = np.cumsum(lengths)[:-1]
    if pixels is not None and len(pixels) != len(obs):
        raise ValueError(f"{where}: {len(pixels)} frames for {len(obs)} observations; every "
                         "observation needs its frame")
    return Episodes.from_lists(np.split(obs, o_cut), np.split(acts, a_cut),
                               None if pixels is None else np.split(pixels, o_cut))


def _vector(obs, obs_key: str | None, where: str) -> np.ndarray:
    """An episode's observations as (T+1, S) floats; a dict needs `obs_key`."""
    if isinstance(obs, dict):
        if obs_key is None:
            raise ValueError(f"{where} has dict observations with keys {sorted(obs)}; choose "
                             "one with --obs-key KEY")
        if obs_key not in obs:
            raise ValueError(f"{where} has no observation entry {obs_key!r}; keys: "
                             f"{sorted(obs)}")
        obs = obs[obs_key]
    obs = np.asarray(obs, np.float32)
    return obs.reshape(len(obs), -1)


def read_hdf5(path: Path, obs_key: str | None = None) -> Dataset:
    """An HDF5 file: per-episode groups, or flat arrays with `episode_lengths`."""
    h5py = _need("h5py")
    with h5py.File(path, "r") as f:
        groups = [k for k in f if isinstance(f[k], h5py.Group)]
        if groups:
            obs, acts = [], []
            for k in sorted(groups, key=_episode_order):
                g = f[k]
                for name in ("observations", "actions"):
                    if name not in g:
                        raise ValueError(f"{path}: episode group {k!r} has no {name!r} "
                                         f"(found {sorted(g)}); each episode needs "
                                         "'observations' and 'actions'")
                o = g["observations"]
                o = {n: o[n][()] for n in o} if isinstance(o, h5py.Group) else o[()]
                obs.append(_vector(o, obs_key, f"{path}:{k}"))
                acts.append(np.asarray(g["actions"][()], np.float32).reshape(
                    len(g["actions"]), -1))
            return Dataset(Episodes.from_lists(obs, acts), f.attrs.get("env_id"),
                           source="hdf5")
        for name in ("observations", "actions", "episode_lengths"):
            if name not in f:
                raise ValueError(f"{path} has no {name!r} dataset (found {sorted(f)}); an HDF5 "
                                 "file needs 'observations', 'actions' and 'episode_lengths', "
                                 "or one group per episode")
        obs = np.asarray(f["observations"][()], np.float32)
        acts = np.asarray(f["actions"][()], np.float32)
        return Dataset(_split_flat(obs.reshape(len(obs), -1), acts.reshape(len(acts), -1),
                                   f["episode_lengths"][()], str(path)),
                       f.attrs.get("env_id"), source="hdf5")


def _episode_order(name: str):
    tail = name.rsplit("_", 1)[-1]
    return (0, int(tail), name) if tail.isdigit() else (1, 0, name)


def read_minari(dataset: str | os.PathLike, obs_key: str | None = None) -> Dataset:
    """A local Minari dataset, by id (under MINARI_DATASETS_PATH) or by folder."""
    minari = _need("minari")
    if isinstance(dataset, Path):
        data = minari.MinariDataset(dataset / "data")
    else:
        try:
            data = minari.load_dataset(dataset, download=False)
        except (FileNotFoundError, ValueError) as e:
            raise ValueError(f"no local Minari dataset {dataset!r} ({e}); list them with "
                             "`minari list local`") from None
    obs, acts = [], []
    for ep in data.iterate_episodes():
        obs.append(_vector(ep.observations, obs_key, f"minari episode {ep.id}"))
        acts.append(np.asarray(ep.actions, np.float32).reshape(len(ep.actions), -1))
    if not obs:
        raise ValueError(f"Minari dataset {dataset} holds no episodes")
    space = data.action_space
    low = tuple(float(x) for x in getattr(space, "low", ()))
    high = tuple(float(x) for x in getattr(space, "high", ()))
    env_id = data.spec.env_spec.id if data.spec.env_spec is not None else None
    return Dataset(Episodes.from_lists(obs, acts), env_id, low, high, source="minari")


def write_minari(dataset_id: str, episodes: Episodes, env_id: str, seeds=None) -> Path:
    """Write `episodes` of `env_id` as the local Minari dataset `dataset_id` (under
    MINARI_DATASETS_PATH, default ~/.minari/datasets); returns its folder."""
    minari = _need("minari")
    import gymnasium as gym
    from minari.data_collector import EpisodeBuffer

    buffers = []
    for e in range(len(episodes)):
        o, a = episodes.episode(e)
        t = len(a)
        buffers.append(EpisodeBuffer(
            id=e, seed=None if seeds is None else int(seeds[e]), observations=o.numpy(),
            actions=a.numpy(), rewards=[0.0] * t, terminations=[False] * t,
            truncations=[False] * (t - 1) + [True]))
    env = gym.make(env_id)
    minari.create_dataset_from_buffers(dataset_id, buffers, env=env,
                                       algorithm_name="wmagent collect")
    env.close()
    return Path(minari.storage.get_dataset_path(dataset_id))


def _need(module: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(f"reading this dataset needs {module}: pip install {module}") from None
