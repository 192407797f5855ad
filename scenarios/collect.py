"""Data collection: fixed-length episodes from a mix of policies, written as safetensors shards.

On-disk format (a directory):
  dataset.json              manifest: scenario, episodes, steps, state fields, shards, policy mix
  shard-00000.safetensors   tensors for up to `shard_size` episodes:
      state   float32 (E, T+1, S)   true states (layout in dataset.json "state_fields")
      action  float32 (E, T, 2)     actions in [-1, 1]^2, action t leads from state t to t+1
      seed    int64   (E,)          scene seed of each episode
      policy  int8    (E,)          0 random, 1 noisy scripted, 2 scripted
      pixels  uint8   (E, T+1, H, W, 3)   only when collected with pixels
Shards are written whole and atomically, so an interrupted collection keeps every finished
shard, and running the same command again resumes after the last one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path

import mujoco
import numpy as np
from mujoco import rollout
from safetensors.numpy import load_file, save_file

from scenarios.layout import sample_points
from scenarios.registry import get
from scenarios.side_effects import EDGE_AXES, fell
from scenarios.skills import ScriptedSkill
from scenarios.subgoals import Subgoal
from scenarios.world import FRAME_SKIP, World, block_pos

POLICIES = ("random", "noisy", "scripted")
FORMAT_VERSION = 1


@dataclass(frozen=True)
class CollectConfig:
    """What to collect."""

    scenario: str
    episodes: int
    steps: int = 100
    """control steps per episode (10 Hz)"""
    seed: int = 0
    """first scene seed; episode i uses scene seed `seed + i`"""
    mix: tuple[float, float, float] = (0.3, 0.4, 0.3)
    """fractions of random, noisy-scripted and scripted episodes"""
    shard_size: int = 256
    pixels: int = 0
    """side of rendered frames stored with the states; 0 for none"""
    scatter: float = 0.0
    """share of episodes whose blocks start at random places on the table rather than where
    the layout puts them: a family whose layouts always arrange the blocks alike (clutter's
    blocker on the line) otherwise teaches the model that arrangement, not contact"""

    def __post_init__(self):
        get(self.scenario)  # raises with the list of known names
        if self.episodes < 1:
            raise ValueError(f"episodes must be at least 1, got {self.episodes}")
        if self.steps < 1:
            raise ValueError(f"steps must be at least 1, got {self.steps}")
        if len(self.mix) != 3 or min(self.mix) < 0 or abs(sum(self.mix) - 1) > 1e-6:
            raise ValueError(f"mix must be three non-negative fractions summing to 1, "
                             f"got {self.mix}")
        if not 0.0 <= self.scatter <= 1.0:
            raise ValueError(f"scatter must be a share from 0 to 1, got {self.scatter}")
        if self.pixels < 0:
            raise ValueError(f"pixels must be 0 (off) or a frame side in pixels, "
                             f"got {self.pixels}")


def _random_actions(rng: np.random.Generator, steps: int) -> np.ndarray:
    """(T, 2) temporally correlated random actions (an Ornstein-Uhlenbeck-like walk)."""
    a = np.zeros((steps, 2))
    x = rng.uniform(-1, 1, 2)
    for t in range(steps):
        x = 0.8 * x + 0.45 * rng.standard_normal(2)
        a[t] = x
    return np.clip(a, -1, 1)


def _rollout_open_loop(world: World, actions: np.ndarray) -> np.ndarray:
    """(T+1, S) states from open-loop `actions` (T, 2), all in one `mujoco.rollout` call (a
    scene with a glass steps the world instead: breaking is checked at every physics step)."""
    if world.layout.fragile:
        return np.asarray([world.state()] + [world.step(a) for a in actions])
    m, start = world.model, world.state()
    spec = mujoco.mjtState.mjSTATE_FULLPHYSICS
    x0 = np.empty(mujoco.mj_stateSize(m, spec))
    mujoco.mj_getState(m, world.data, x0, spec)
    control = np.repeat(actions, FRAME_SKIP, axis=0)[None]  # (1, T*k, 2)
    # rollout uses the MjData it is given as scratch space: not the world's own.
    out, _ = rollout.rollout(m, mujoco.MjData(m), x0[None], control)
    out = out[0, FRAME_SKIP - 1:: FRAME_SKIP]  # (T, nstate): the state after each control step
    nq, nv = m.nq, m.nv
    states = world.states_from_physics(out[:, 1: 1 + nq], out[:, 1 + nq: 1 + nq + nv])
    return np.concatenate([start[None], states])


SHOVE_OFF = 0.25
"""share of the scripted skills, in a scene with open edges, that push a block off the table:
random and noisy driving almost never does (0 of 500 episodes each, measured), and a model
must see falls to predict them"""


class _ShoveOff(ScriptedSkill):
    """The scripted push, aimed at a point 30 cm past an open edge; done when the block fell."""

    def __init__(self, world: World, state: np.ndarray, rng: np.random.Generator):
        layout = world.layout
        held = [i for i in range(len(layout.blocks)) if not fell(layout, state, i)]
        i = held[int(rng.integers(len(held)))]
        zone = next(t.name for t in layout.targets if t.kind == "zone")
        super().__init__(layout, Subgoal(skill="push", object=layout.blocks[i].name,
                                         target=zone), state)
        axis, sign = EDGE_AXES[str(rng.choice(layout.open_edges))]
        self.target = block_pos(state, i).copy()
        self.target[axis] = sign * (layout.arena_half + 0.3)
        self.target[1 - axis] += rng.uniform(-0.2, 0.2)

    def done(self, state: np.ndarray) -> bool:
        return fell(self.layout, state, self.block)


def _next_skill(world: World, state: np.ndarray, rng: np.random.Generator) -> ScriptedSkill:
    layout = world.layout
    if layout.open_edges and rng.random() < SHOVE_OFF and not all(
            fell(layout, state, i) for i in range(len(layout.blocks))):
        return _ShoveOff(world, state, rng)
    return ScriptedSkill(layout, world.random_subgoal(rng, fragile=True), state)


def _closed_loop(world: World, steps: int, noise: float,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A chain of scripted skills toward random subgoals (and, where the table has open
    edges, sometimes off it), with Gaussian action noise."""
    state = world.state()
    states, actions = [state], []
    skill, budget = None, 0
    for _ in range(steps):
        if skill is None or skill.done(state) or budget == 0:
            skill, budget = _next_skill(world, state, rng), 120
        a = np.clip(skill(state) + noise * rng.standard_normal(2), -1, 1)
        # Noisy episodes sometimes hold a random action for a while: wider state coverage.
        if noise and rng.random() < 0.05:
            a = rng.uniform(-1, 1, 2)
        state = world.step(a)
        budget -= 1
        states.append(state)
        actions.append(a)
    return np.asarray(states), np.asarray(actions)


SCATTER_GAP = 0.2
"""metres between scattered blocks, and between them and the agent"""


def scatter_blocks(world: World, rng: np.random.Generator) -> None:
    """Put `world`'s blocks at random places on its table, at rest (the agent stays)."""
    layout = world.layout
    h = layout.arena_half - 0.2
    spots = sample_points(rng, len(layout.blocks), (-h, -h), (h, h), min_dist=SCATTER_GAP,
                          avoid=[np.asarray(layout.agent_start)], avoid_dist=SCATTER_GAP)
    pos = np.asarray([layout.agent_start] + [tuple(p) for p in spots], float)
    world.set_state(world.state_from(pos, np.zeros_like(pos)))


def collect_episode(scenario: str, scene_seed: int, policy: str, steps: int,
                    rng: np.random.Generator, pixels: int = 0,
                    scatter: bool = False) -> dict[str, np.ndarray]:
    """One episode: states (T+1, S), actions (T, 2) and, if asked, pixels (T+1, H, W, 3).
    `scatter`: the blocks start at random places (`scatter_blocks`)."""
    world = World(get(scenario).layout(scene_seed))
    if scatter and world.layout.blocks:
        scatter_blocks(world, np.random.default_rng([scene_seed, 99]))
    if policy == "random":
        actions = _random_actions(rng, steps)
        states = _rollout_open_loop(world, actions)
    else:
        states, actions = _closed_loop(world, steps, 0.35 if policy == "noisy" else 0.0, rng)
    ep = {"state": states.astype(np.float32), "action": actions.astype(np.float32)}
    if pixels:
        ep["pixels"] = np.stack([world.render(s, pixels) for s in states])
    world.close()
    return ep


def _shard_path(out: Path, i: int) -> Path:
    return out / f"shard-{i:05d}.safetensors"


def _shard(cfg: CollectConfig, lo: int, hi: int, kinds: np.ndarray, scattered: np.ndarray,
           progress: Callable[[int], None] | None = None) -> dict[str, np.ndarray]:
    """The tensors of episodes lo..hi-1 (one shard): the same in whichever process."""
    eps = []
    for i in range(lo, hi):
        rng = np.random.default_rng([cfg.seed, i])
        eps.append(collect_episode(cfg.scenario, cfg.seed + i, POLICIES[kinds[i]],
                                   cfg.steps, rng, cfg.pixels, bool(scattered[i])))
        if progress:
            progress(i + 1)
    tensors = {key: np.stack([e[key] for e in eps]) for key in eps[0]}
    tensors["seed"] = np.arange(cfg.seed + lo, cfg.seed + hi, dtype=np.int64)
    tensors["policy"] = kinds[lo:hi].astype(np.int8)
    return tensors


def _write_shard(out: Path, manifest: dict, k: int, tensors: dict[str, np.ndarray]) -> None:
    """Shard `k` to disk, then the manifest that lists it (each replaced atomically), so that
    a collection killed at any point resumes after its last listed shard."""
    path = _shard_path(out, k)
    tmp = path.with_suffix(".tmp")
    save_file(tensors, str(tmp), metadata={"scenario": manifest["config"]["scenario"]})
    os.replace(tmp, path)
    manifest["shards"].append({"file": path.name, "episodes": len(tensors["seed"])})
    manifest_path = out / "dataset.json"
    tmp_manifest = manifest_path.with_suffix(".tmp")
    tmp_manifest.write_text(json.dumps(manifest, indent=1))
    os.replace(tmp_manifest, manifest_path)


def collect(cfg: CollectConfig, out: str | os.PathLike,
            progress: Callable[[int], None] | None = None, workers: int = 1) -> Path:
    """Collect `cfg.episodes` episodes into directory `out`; resumes a partial collection.

    `progress(n)` is called with the count done so far: after each episode, or, with
    `workers` > 1 (shards made in that many processes and written in order; the same bytes
    as one process makes), after each shard.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    manifest_path = out / "dataset.json"
    world = World(get(cfg.scenario).layout(cfg.seed))
    manifest = {
        "format_version": FORMAT_VERSION,
        "config": json.loads(json.dumps(asdict(cfg))),  # as it reads back from disk
        "state_dim": world.spec.dim,
        "state_fields": [asdict(f) for f in world.spec.fields],
        "n_dynamic": world.spec.n_dynamic,
        "policies": list(POLICIES),
        "shards": [],
    }
    if manifest_path.exists():
        old = json.loads(manifest_path.read_text())
        defaults = json.loads(json.dumps(asdict(CollectConfig(cfg.scenario, 1))))
        if {**defaults, **old["config"]} != manifest["config"]:  # fields added since: default
            raise ValueError(
                f"{out} already holds a collection made with other settings "
                f"({old['config']}); choose another --out or delete it")
        manifest["shards"] = old["shards"]
    n_shards = -(-cfg.episodes // cfg.shard_size)
    done = sum(s["episodes"] for s in manifest["shards"])
    if progress:
        progress(done)
    counts = np.round(np.asarray(cfg.mix) * cfg.episodes).astype(int)
    counts[-1] = cfg.episodes - counts[:-1].sum()
    kinds = np.repeat(np.arange(3), counts)
    np.random.default_rng(cfg.seed).shuffle(kinds)
    scattered = np.random.default_rng([cfg.seed, 1]).random(cfg.episodes) < cfg.scatter
    todo = list(range(len(manifest["shards"]), n_shards))
    spans = [(k * cfg.shard_size, min((k + 1) * cfg.shard_size, cfg.episodes)) for k in todo]
    pool = None
    if workers > 1 and len(spans) > 1:
        # spawn: a fresh interpreter per worker, so no MuJoCo or GL state is forked
        pool = ProcessPoolExecutor(min(workers, len(spans)), mp_context=get_context("spawn"))
        made = pool.map(_shard, *zip(*[(cfg, lo, hi, kinds, scattered) for lo, hi in spans],
                                     strict=True))
    else:
        made = (_shard(cfg, lo, hi, kinds, scattered, progress) for lo, hi in spans)
    try:
        for k, (_, hi), tensors in zip(todo, spans, made, strict=True):
            _write_shard(out, manifest, k, tensors)
            if progress and pool is not None:
                progress(hi)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return out


def load(path: str | os.PathLike) -> tuple[dict, dict[str, np.ndarray]]:
    """Read a collection: (manifest, tensors concatenated over shards)."""
    path = Path(path)
    manifest_path = path / "dataset.json"
    if not manifest_path.exists():
        raise FileNotFoundError(
            f"{path} holds no dataset.json; make one with `wmagent collect SCENARIO --out {path}`")
    manifest = json.loads(manifest_path.read_text())
    parts = [load_file(str(path / s["file"])) for s in manifest["shards"]]
    if not parts:
        raise ValueError(f"{path} has no finished shards yet")
    return manifest, {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
