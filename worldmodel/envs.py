"""Any Gymnasium environment as a source of episodes and of goals: make it, check its spaces,
read what it declares about its observation, and collect seeded episodes from it.

ENV_ID goes to `gymnasium.make` unchanged, so `module:EnvName-v0` imports the user's module
first. An env declares its observation layout by an attribute `wm_layout` (an `EnvLayout`, or
a dict of its fields) on the unwrapped env; a few of Gymnasium's own MuJoCo envs are declared
here in `KNOWN_LAYOUTS`; any other env gets no declaration, and nothing is assumed.

Frames (`pixels=N`): the env is made with `render_mode="rgb_array"` (and `width`/`height` N
where it takes them; otherwise its frames are resized to N x N), and every observation's frame
is recorded beside its vector. The world model can then plan from the frames alone; the vector
stays for the probe and for judging success. Envs whose default camera shows the scene too
small get a camera here (`KNOWN_CAMERAS`, passed as `default_camera_config`).

Collection format (a directory), resumable:
  dataset.json              manifest: format, env id, settings, spaces, shards
  shard-00000.safetensors   observations float32 (sum T_e+1, S), actions float32 (sum T_e, A),
                            lengths int64 (E,), seeds int64 (E,), terminated int8 (E,), and
                            with frames pixels uint8 (sum T_e+1, N, N, 3)
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


KNOWN_CAMERAS = {
    # Seen from straight above, the arena (the target within 0.2 m, the arm 0.21 m long)
    # filling the frame: Gymnasium's default camera shows it a few pixels wide at 48 px.
    "Reacher": {"trackbodyid": -1, "distance": 0.62, "elevation": -90.0, "azimuth": 90.0,
                "lookat": np.zeros(3)},
}


def make(env_id: str, obs_key: str | None = None, max_episode_steps: int | None = None,
         pixels: int | None = None, pixels_key: str | None = None,
         ) -> tuple[gym.Env, Callable[[object], np.ndarray]]:
    """(env, observe): the env from `gymnasium.make(env_id)` and a function from its raw
    observations to float vectors, after checking that both spaces are ones the world model
    can use. `obs_key` picks the entry of a Dict observation. `pixels=N` makes it render
    N x N frames (`camera`), unless its observation carries them under `pixels_key`."""
    kwargs = {} if max_episode_steps is None else {"max_episode_steps": max_episode_steps}
    if pixels and not pixels_key:
        kwargs["render_mode"] = "rgb_array"
        name = env_id.split(":")[-1].split("-v")[0]
        sized = {"width": pixels, "height": pixels}
        if name in KNOWN_CAMERAS:
            sized["default_camera_config"] = KNOWN_CAMERAS[name]
        try:
            env = gym.make(env_id, **kwargs, **sized)
        except TypeError:  # it takes no size: its frames are resized
            env = gym.make(env_id, **kwargs)
    else:
        env = gym.make(env_id, **kwargs)
    if pixels_key is not None:
        space = env.observation_space
        if not isinstance(space, gym.spaces.Dict) or pixels_key not in space.spaces:
            keys = sorted(space.spaces) if isinstance(space, gym.spaces.Dict) else None
            raise ValueError(f"{env_id} has no observation entry {pixels_key!r} for frames "
                             f"(its observation: {keys or space}); drop --pixels-key to "
                             "render frames from its camera")
    return env, observer(env, env_id, obs_key, ignore=pixels_key)


def camera(env: gym.Env, size: int, key: str | None = None) -> Callable[[object], np.ndarray]:
    """raw observation -> the frame that goes with it, (size, size, 3) uint8: the env's
    rendering of its current state (the env made with `make(..., pixels=size)`) or, with
    `key`, the image in that entry of a Dict observation (as Gymnasium's
    `AddRenderObservation` gives it)."""
    if key is None and env.render_mode != "rgb_array":
        raise ValueError(f"{env.spec.id if env.spec else env} renders {env.render_mode!r}; "
                         "frames need render_mode='rgb_array' (make(..., pixels=N))")

    def frame(raw) -> np.ndarray:
        f = np.asarray(env.render() if key is None else raw[key])
        if f.ndim != 3 or f.shape[2] < 3:
            raise ValueError(f"the frame is an array of shape {f.shape}, not an RGB image")
        f = f[..., :3]
        if f.dtype != np.uint8:  # images as floats in [0, 1]
            f = np.clip(f * 255 if f.max() <= 1 else f, 0, 255).astype(np.uint8)
        if f.shape[:2] != (size, size):
            from PIL import Image

            f = np.asarray(Image.fromarray(f).resize((size, size), Image.BOX))
        return np.ascontiguousarray(f, np.uint8)

    return frame


def observer(env: gym.Env, env_id: str, obs_key: str | None = None, ignore: str | None = None,
             ) -> Callable[[object], np.ndarray]:
    """Check the env's spaces; return raw observation -> (S,) float vector. `ignore` is a
    Dict entry that is not the vector's (the frames')."""
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
        keys = sorted(k for k in space.spaces if k != ignore)
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
                         "observation vectors (choose a vector entry with --obs-key), and "
                         "takes frames from the env's camera with --pixels N")
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
    pixels: int | None = None
    """record an N x N frame of every observation too (None: vectors only)"""
    pixels_key: str | None = None
    """take the frames from this entry of a Dict observation instead of rendering them"""

    def __post_init__(self):
        if self.pixels is not None and self.pixels not in (32, 48, 64, 96):
            raise ValueError(f"pixels={self.pixels}: frames are 32, 48, 64 or 96 pixels a side "
                             "(the sizes the pixel encoders take)")
        if self.pixels_key is not None and self.pixels is None:
            raise ValueError(f"pixels_key={self.pixels_key!r} needs pixels=N, the frame size")
        if self.episodes < 1 or self.shard_size < 1:
            raise ValueError(f"episodes={self.episodes} and shard_size={self.shard_size} must "
                             "be at least 1")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError(f"max_steps={self.max_steps} must be at least 1, or None")


def run_episode(env: gym.Env, observe: Callable, policy: Policy, seed: int,
                max_steps: int | None = None, frame: Callable[[object], np.ndarray] | None = None,
                ) -> tuple[np.ndarray, np.ndarray, bool, np.ndarray | None]:
    """(observations (T+1, S), actions (T, A), terminated, frames (T+1, N, N, 3) or None) of
    one episode from reset(seed); `frame` (see `camera`) records the frames."""
    raw, _ = env.reset(seed=seed)
    env.action_space.seed(seed)
    obs, acts = [observe(raw)], []
    frames = None if frame is None else [frame(raw)]
    done = terminated = False
    while not done and (max_steps is None or len(acts) < max_steps):
        a = np.asarray(policy(obs[-1]), np.float32)
        raw, _, terminated, truncated, _ = env.step(a)
        obs.append(observe(raw))
        acts.append(a)
        if frames is not None:
            frames.append(frame(raw))
        done = terminated or truncated
    return (np.stack(obs), np.stack(acts).reshape(len(acts), -1), bool(terminated),
            None if frames is None else np.stack(frames))


def collect(settings: CollectSettings, out: str | os.PathLike,
            progress: Callable[[int, int], None] | None = None) -> Path:
    """Collect `settings.episodes` episodes into the folder `out`, resuming after the shards
    already there; `progress(done, total)` after each episode. Returns the folder."""
    from safetensors.numpy import save_file

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    manifest_path = out / "dataset.json"
    env, observe = make(settings.env_id, settings.obs_key, pixels=settings.pixels,
                        pixels_key=settings.pixels_key)
    frame = camera(env, settings.pixels, settings.pixels_key) if settings.pixels else None
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
        obs, acts, terms, seeds, frames = [], [], [], [], []
        for i in range(done, done + n):
            seed = settings.seed + i
            policy = load_policy(settings.policy, env, seed)
            o, a, t, f = run_episode(env, observe, policy, seed, settings.max_steps, frame)
            obs.append(o)
            acts.append(a)
            terms.append(t)
            seeds.append(seed)
            frames.append(f)
            if progress:
                progress(i + 1, settings.episodes)
        name = f"shard-{len(manifest['shards']):05d}.safetensors"
        tmp = out / (name + ".tmp")
        arrays = {"observations": np.concatenate(obs), "actions": np.concatenate(acts),
                  "lengths": np.array([len(a) for a in acts], np.int64),
                  "seeds": np.array(seeds, np.int64), "terminated": np.array(terms, np.int8)}
        if frame is not None:
            arrays["pixels"] = np.concatenate(frames)
        save_file(arrays, str(tmp))
        os.replace(tmp, out / name)
        manifest["shards"].append({"file": name, "episodes": n})
        done += n
        manifest["settings"]["episodes"] = max(settings.episodes, done)
        tmp = manifest_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(manifest, indent=1))
        os.replace(tmp, manifest_path)
    env.close()
    return out
