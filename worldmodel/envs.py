"""Any Gymnasium environment as a source of episodes and of goals: make it, check its spaces,
read what it declares about its observation, and collect seeded episodes from it.

ENV_ID goes to `gymnasium.make` unchanged, so `module:EnvName-v0` imports the user's module
first. An env declares its observation layout by an attribute `wm_layout` (an `EnvLayout`, or
a dict of its fields) on the unwrapped env; a few of Gymnasium's own MuJoCo envs are declared
here in `KNOWN_LAYOUTS`; any other env gets no declaration, and nothing is assumed.

Collection format (a directory), resumable:
  dataset.json              manifest: format, env id, settings, spaces, shards
  shard-00000.safetensors   observations float32 (sum T_e+1, S), actions float32 (sum T_e, A),
                            lengths int64 (E,), seeds int64 (E,), terminated int8 (E,)
Shards are written whole and atomically; running the same command again resumes after the
last finished shard.
"""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import gymnasium as gym
import numpy as np

FORMAT = "wmagent-env-episodes"
FORMAT_VERSION = 1
Policy = Callable[[np.ndarray], np.ndarray]  # observation (S,) -> action (A,)


@dataclass(frozen=True)
class EnvLayout:
    """What an env declares about its observation vector (indices into it)."""

    position_dims: tuple[int, ...] = ()
    """entries that are positions (probe metric)"""
    velocity_dims: tuple[int, ...] = ()
    """entries that are velocities (rest windows)"""
    goal_velocity_dims: tuple[int, ...] = ()
    """the controlled body's planar velocity, if it has one (goal speeds)"""
    success_dims: tuple[int, ...] = ()
    """entries compared with the goal observation to decide success; () means all of them"""
    success_tol: float = 0.05
    """success when the Euclidean distance over `success_dims` is at most this"""
    terminated_is_success: bool = False
    """True when the env ends an episode (`terminated`) because its goal was reached; False
    when termination means failure (a pendulum fell), or it never terminates"""

    @classmethod
    def from_env(cls, env: gym.Env, env_id: str = "") -> EnvLayout:
        """The env's own declaration, else a known one for `env_id`, else none."""
        own = getattr(env.unwrapped, "wm_layout", None)
        if isinstance(own, dict):
            known = {f.name for f in fields(cls)}
            if set(own) - known:
                raise ValueError(f"{env_id}: wm_layout has unknown fields "
                                 f"{sorted(set(own) - known)}; known: {sorted(known)}")
            own = cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in own.items()})
        if own is not None:
            return own
        name = env_id.split(":")[-1].split("-v")[0]
        return KNOWN_LAYOUTS.get(name, cls())

    def to_dict(self) -> dict:
        return asdict(self)


KNOWN_LAYOUTS = {
    # cos q0, cos q1, sin q0, sin q1, target x, y, qvel0, qvel1, fingertip - target x, y, z:
    # reaching means the fingertip where the goal's was (the target does not move), 2 cm.
    "Reacher": EnvLayout(position_dims=(0, 1, 2, 3, 8, 9), velocity_dims=(6, 7),
                         success_dims=(8, 9), success_tol=0.02),
    # cart x, sin q1, sin q2, cos q1, cos q2, cart v, qvel1, qvel2, constraint force; it
    # terminates when the pendulum falls.
    "InvertedDoublePendulum": EnvLayout(position_dims=(0, 1, 2, 3, 4), velocity_dims=(5, 6, 7),
                                        success_dims=(0, 1, 2), success_tol=0.05),
}


def make(env_id: str, obs_key: str | None = None, max_episode_steps: int | None = None,
         ) -> tuple[gym.Env, Callable[[object], np.ndarray]]:
    """(env, observe): the env from `gymnasium.make(env_id)` and a function from its raw
    observations to float vectors, after checking that both spaces are ones the world model
    can use. `obs_key` picks the entry of a Dict observation."""
    kwargs = {} if max_episode_steps is None else {"max_episode_steps": max_episode_steps}
    env = gym.make(env_id, **kwargs)
    return env, observer(env, env_id, obs_key)


def observer(env: gym.Env, env_id: str, obs_key: str | None = None
             ) -> Callable[[object], np.ndarray]:
    """Check the env's spaces; return raw observation -> (S,) float vector."""
    act = env.action_space
    if not isinstance(act, gym.spaces.Box) or len(act.shape) != 1:
        raise ValueError(f"{env_id} has a {type(act).__name__} action space {act}; the world "
                         "model plans continuous actions: use an env with a 1-D Box action "
                         "space (a Discrete one can be wrapped to a Box of logits)")
    if not np.all(np.isfinite(act.low)) or not np.all(np.isfinite(act.high)):
        raise ValueError(f"{env_id} has unbounded actions {act}; the planner samples inside "
                         "the bounds: wrap the env with gymnasium.wrappers.ClipAction")
    space = env.observation_space
    if isinstance(space, gym.spaces.Dict):
        keys = sorted(space.spaces)
        if obs_key is None:
            raise ValueError(f"{env_id} observes a Dict with keys {keys}; choose the entry the "
                             "world model reads with --obs-key KEY")
        if obs_key not in space.spaces:
            raise ValueError(f"{env_id} has no observation entry {obs_key!r}; keys: {keys}")
        space = space.spaces[obs_key]
    elif obs_key is not None:
        raise ValueError(f"{env_id} observes a {type(space).__name__}, not a Dict; drop "
                         f"--obs-key {obs_key}")
    if not isinstance(space, gym.spaces.Box) or len(space.shape) != 1:
        raise ValueError(f"{env_id} observes {space}; the generic path reads 1-D Box "
                         "observation vectors (choose a vector entry with --obs-key)")
    if obs_key is None:
        return lambda o: np.asarray(o, np.float32)
    return lambda o: np.asarray(o[obs_key], np.float32)


def load_policy(spec: str, env: gym.Env, seed: int) -> Policy:
    """'random' (uniform in the action box, seeded) or 'MODULE:CALLABLE', a factory called
    as `CALLABLE(env, seed)` that returns an observation -> action function."""
    if spec == "random":
        rng = np.random.default_rng(seed)
        low, high = env.action_space.low, env.action_space.high
        return lambda obs: rng.uniform(low, high).astype(np.float32)
    module, _, name = spec.partition(":")
    if not module or not name:
        raise ValueError(f"policy {spec!r} is neither 'random' nor MODULE:CALLABLE (say "
                         "'mypkg.policies:make_policy')")
    try:
        factory = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as e:
        raise ValueError(f"cannot load policy {spec!r} ({e}); put MODULE on PYTHONPATH and "
                         "name a callable in it") from None
    return factory(env, seed)


@dataclass(frozen=True)
class CollectSettings:
    """What `collect` gathers; a folder holds one setting, and resumes only with it."""

    env_id: str
    episodes: int
    policy: str = "random"
    seed: int = 0
    """episode i starts from `reset(seed=seed + i)`, and its policy is seeded alike"""
    max_steps: int | None = None
    """control steps per episode at most; None: until the env terminates or truncates"""
    obs_key: str | None = None
    shard_size: int = 100

    def __post_init__(self):
        if self.episodes < 1 or self.shard_size < 1:
            raise ValueError(f"episodes={self.episodes} and shard_size={self.shard_size} must "
                             "be at least 1")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError(f"max_steps={self.max_steps} must be at least 1, or None")


def run_episode(env: gym.Env, observe: Callable, policy: Policy, seed: int,
                max_steps: int | None = None) -> tuple[np.ndarray, np.ndarray, bool]:
    """(observations (T+1, S), actions (T, A), terminated) of one episode from reset(seed)."""
    raw, _ = env.reset(seed=seed)
    env.action_space.seed(seed)
    obs, acts = [observe(raw)], []
    done = terminated = False
    while not done and (max_steps is None or len(acts) < max_steps):
        a = np.asarray(policy(obs[-1]), np.float32)
        raw, _, terminated, truncated, _ = env.step(a)
        obs.append(observe(raw))
        acts.append(a)
        done = terminated or truncated
    return np.stack(obs), np.stack(acts).reshape(len(acts), -1), bool(terminated)


def collect(settings: CollectSettings, out: str | os.PathLike,
            progress: Callable[[int, int], None] | None = None) -> Path:
    """Collect `settings.episodes` episodes into the folder `out`, resuming after the shards
    already there; `progress(done, total)` after each episode. Returns the folder."""
    from safetensors.numpy import save_file

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    manifest_path = out / "dataset.json"
    env, observe = make(settings.env_id, settings.obs_key)
    space = env.action_space
    manifest = {"format": FORMAT, "version": FORMAT_VERSION, "settings": asdict(settings),
                "layout": EnvLayout.from_env(env, settings.env_id).to_dict(),
                "action_low": space.low.tolist(), "action_high": space.high.tolist(),
                "shards": []}
    if manifest_path.exists():
        old = json.loads(manifest_path.read_text())
        mine = {k: v for k, v in asdict(settings).items() if k != "episodes"}
        theirs = {k: v for k, v in old.get("settings", {}).items() if k != "episodes"}
        if old.get("format") != FORMAT or mine != theirs:
            raise ValueError(f"{out} holds another collection ({old.get('settings')}); resume "
                             "it with the same settings or pick another --out")
        manifest["shards"] = old["shards"]
    done = sum(s["episodes"] for s in manifest["shards"])
    if progress:
        progress(done, settings.episodes)
    while done < settings.episodes:
        n = min(settings.shard_size, settings.episodes - done)
        obs, acts, terms, seeds = [], [], [], []
        for i in range(done, done + n):
            seed = settings.seed + i
            policy = load_policy(settings.policy, env, seed)
            o, a, t = run_episode(env, observe, policy, seed, settings.max_steps)
            obs.append(o)
            acts.append(a)
            terms.append(t)
            seeds.append(seed)
            if progress:
                progress(i + 1, settings.episodes)
        name = f"shard-{len(manifest['shards']):05d}.safetensors"
        tmp = out / (name + ".tmp")
        save_file({"observations": np.concatenate(obs), "actions": np.concatenate(acts),
                   "lengths": np.array([len(a) for a in acts], np.int64),
                   "seeds": np.array(seeds, np.int64),
                   "terminated": np.array(terms, np.int8)}, str(tmp))
        os.replace(tmp, out / name)
        manifest["shards"].append({"file": name, "episodes": n})
        done += n
        manifest["settings"]["episodes"] = max(settings.episodes, done)
        tmp = manifest_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(manifest, indent=1))
        os.replace(tmp, manifest_path)
    env.close()
    return out
