"""Frozen, typed configs: one for the model, one for training. Errors name the field and the fix."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Literal

Obs = Literal["state", "pixels"]
Objective = Literal["jepa", "reconstruction"]
Encoder = str  # "cnn", "keypoints", or "MODULE:CALLABLE", a backbone (worldmodel.model)


def _is_factory(spec: str) -> bool:
    module, _, name = spec.partition(":")
    return bool(module) and name.isidentifier()


def _check(ok: bool, field: str, value, fix: str) -> None:
    if not ok:
        raise ValueError(f"{field}={value!r} is invalid: {fix}")


@dataclass(frozen=True)
class ModelConfig:
    """What a world model is: enough to rebuild it from a checkpoint."""

    scenario: str
    """what the model was trained on: a scenario family, or a Gymnasium env id (state
    dimensions differ between sources)"""
    obs: Obs = "state"
    """observation the encoder reads: 'state' (MLP) or 'pixels' (small CNN)"""
    objective: Objective = "jepa"
    """'jepa': predict embeddings, SIGReg against collapse; 'reconstruction': decode observations"""
    state_dim: int = 14
    """length of the state vector (the scene's StateSpec.dim)"""
    n_dynamic: int = 4
    """leading part of the state the probe reads out (in a scene: agent and blocks, what moves;
    for an outside env usually the whole observation)"""
    image_size: int = 48
    """side of square frames in pixel mode (ignored in state mode)"""
    encoder: Encoder = "cnn"
    """pixel encoder: 'cnn' (four stride-2 convolutions, flattened: the first pixel models) or
    'keypoints' (convolutions with coordinate channels at half resolution, read out by a
    spatial softmax into where each feature map peaks: made for small moving things), or
    'MODULE:CALLABLE', a factory `CALLABLE(image_size) -> nn.Module` for a backbone of your
    own (frames (N, 3, H, W) in [-0.5, 0.5] -> features (N, ...)), loading its weights from
    wherever you keep them: nothing is downloaded (`worldmodel.model.BackboneEncoder`)"""
    freeze_backbone: bool = True
    """with encoder='MODULE:CALLABLE': keep the backbone's weights as its factory loaded them
    (a frozen pretrained backbone, as DINO-WM uses DINOv2); only the head on its features
    trains. False fine-tunes it too"""
    frames: int = 1
    """frames stacked per pixel observation, the newest last, `chunk` control steps apart
    (one latent step): 2 lets the encoder see speed, which one frame cannot show"""
    motion: bool = False
    """with encoder='keypoints' and frames > 1: each frame is read beside its difference from
    the frame before it in the stack (zero for the oldest), so that what moved stands out of
    a frame full of static things"""
    sharpness: float = 1.0
    """with encoder='keypoints': the feature maps are multiplied by this before the spatial
    softmax; above 1 each map's softmax gathers on fewer places, so that a few-pixel agent can
    move a keypoint instead of nudging a nearly uniform average"""
    latent_dim: int = 32
    """D, the embedding size"""
    hidden: int = 256
    """width of the encoder, predictor, decoder and probe MLPs"""
    chunk: int = 5
    """k, control steps per latent step: the predictor consumes (k, 2) action chunks"""
    action_dim: int = 2
    """size of one control action"""
    action_low: tuple[float, ...] = ()
    """lower bound of each action entry as the data and the env give it; () means -1. The
    model maps actions from [low, high] to [-1, 1] inside `predict`, so callers use the env's
    own units and the planner searches a unit box whatever the bounds"""
    action_high: tuple[float, ...] = ()
    """upper bound of each action entry; () means 1"""
    position_dims: tuple[int, ...] = ()
    """state entries that are positions, declared by the data or the env: the probe metric is
    computed over them. () means not declared: the metric covers every probed entry"""
    velocity_dims: tuple[int, ...] = ()
    """state entries that are velocities: zeroed in 'at rest' training windows
    (TrainConfig.rest_fraction). () means not declared, and rest windows are refused"""
    goal_velocity_dims: tuple[int, ...] = ()
    """the two entries of the controlled body's planar velocity: planners also encode a goal
    moving along them (PlannerConfig.goal_speeds). () encodes a goal exactly as given"""

    def __post_init__(self):
        _check(self.obs in ("state", "pixels"), "obs", self.obs, "use 'state' or 'pixels'")
        _check(self.objective in ("jepa", "reconstruction"), "objective", self.objective,
               "use 'jepa' or 'reconstruction'")
        for name in ("state_dim", "n_dynamic", "latent_dim", "hidden", "chunk", "action_dim"):
            v = getattr(self, name)
            _check(isinstance(v, int) and v >= 1, name, v, "use a positive integer")
        _check(self.n_dynamic <= self.state_dim, "n_dynamic", self.n_dynamic,
               f"it cannot exceed state_dim={self.state_dim}")
        _check(self.image_size in (32, 48, 64, 96), "image_size", self.image_size,
               "use 32, 48, 64 or 96 (the CNN halves it four times)")
        _check(self.encoder in ("cnn", "keypoints") or _is_factory(self.encoder), "encoder",
               self.encoder, "use 'cnn', 'keypoints' or a backbone factory 'MODULE:CALLABLE'")
        _check(isinstance(self.frames, int) and 1 <= self.frames <= 4, "frames", self.frames,
               "stack 1 to 4 frames")
        _check(self.frames == 1 or self.obs == "pixels", "frames", self.frames,
               "stacking is for frames: a state vector carries its speeds; use 1")
        _check(self.sharpness > 0, "sharpness", self.sharpness, "use a positive number")
        _check(not self.motion or (self.encoder == "keypoints" and self.frames > 1
                                   and self.obs == "pixels"), "motion", self.motion,
               "the frame difference is read by the keypoint encoder of a stack of frames: "
               "use it with --obs pixels --encoder keypoints --frames 2 or more")
        for name in ("action_low", "action_high"):
            v = getattr(self, name)
            _check(len(v) in (0, self.action_dim), name, v,
                   f"give one bound per action entry (action_dim={self.action_dim}) or ()")
        if self.action_low or self.action_high:
            _check(len(self.action_low) == len(self.action_high)
                   and all(lo < hi for lo, hi in zip(self.action_low, self.action_high,
                                                     strict=True)),
                   "action_low", self.action_low,
                   f"give both bounds, each low below its high (action_high={self.action_high})")
        for name in ("position_dims", "velocity_dims", "goal_velocity_dims"):
            v = getattr(self, name)
            _check(all(isinstance(i, int) and 0 <= i < self.state_dim for i in v), name, v,
                   f"use state indices from 0 to {self.state_dim - 1}")
        _check(all(i < self.n_dynamic for i in self.position_dims), "position_dims",
               self.position_dims, f"the probe reads only the first n_dynamic={self.n_dynamic}")
        _check(len(self.goal_velocity_dims) in (0, 2), "goal_velocity_dims",
               self.goal_velocity_dims, "name the two entries of a planar velocity, or ()")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"model config has unknown fields {sorted(unknown)}; "
                             f"known fields: {sorted(known)}")
        d = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}
        if "velocity_dims" not in d:
            d |= scene_layout(d.get("n_dynamic", 4), d.get("obs", "state"))
        return cls(**d)


def scene_layout(n_dynamic: int, obs: str = "state") -> dict[str, tuple[int, ...]]:
    """The layout a config saved before the layout fields existed meant: every such checkpoint
    is a scene model, whose dynamic state is x, y, vx, vy per moving body, the agent first."""
    dims = range(n_dynamic)
    return {"position_dims": tuple(i for i in dims if i % 4 < 2),
            "velocity_dims": tuple(i for i in dims if i % 4 >= 2),
            "goal_velocity_dims": (2, 3) if obs == "state" and n_dynamic >= 4 else ()}


@dataclass(frozen=True)
class TrainConfig:
    """How to train a world model."""

    steps: int = 3000
    """optimiser steps"""
    batch: int = 256
    """windows per batch"""
    horizon: int = 6
    """H, latent steps per training window (each k control steps)"""
    lr: float = 1e-3
    """peak AdamW learning rate (cosine decay to 5% of it)"""
    weight_decay: float = 1e-4
    sigreg_weight: float = 0.05
    """lambda, weight of SIGReg (jepa objective only)"""
    sigreg_projections: int = 64
    """random 1-D directions SIGReg tests per step (fresh each step; 64 keeps a step ~80 ms)"""
    ar_weight: float = 1.0
    """weight of the multi-step autoregressive loss beside the teacher-forced one"""
    rest_fraction: float = 0.0
    """share of windows replaced by 'at rest' windows: velocities zeroed, zero actions, nothing
    moves (true in these scenes: no gravity, no force, damped). Collected data hardly ever
    rests, and a model that never saw rest predicts drift there, which spoils precise goals"""
    idm_weight: float = 0.0
    """weight of an inverse-dynamics term: a training-only head must read the action chunk
    from (z_t, z_t+1). It makes the encoder keep what the actions move (the agent: a few
    pixels in a frame that the scene layout otherwise dominates), as in PLDM. Pixels only"""
    mask_weight: float = 0.0
    """weight of a masked-frame term, I-JEPA style: a training-only head must predict the
    embedding of each whole frame (no gradient into that target) from the embedding of the
    same frame with `mask_ratio` of its 8x8 grid of patches greyed out. Pixels only"""
    mask_ratio: float = 0.4
    """share of the patches hidden in the masked-frame term"""
    pretrain_steps: int = 0
    """steps at the start that train the encoder on the masked-frame term and SIGReg alone,
    before the world model's terms join (needs mask_weight > 0)"""
    probe_steps: int = 1500
    """steps training the state probe on frozen embeddings after the main run"""
    episodes: int = 3000
    """episodes collected when no --data is given"""
    episode_steps: int = 100
    """control steps per collected episode"""
    val_fraction: float = 0.05
    """episodes held out for the metrics"""
    log_every: int = 100
    """steps between metric rows"""
    threads: int = 1
    """torch CPU threads for training (measured here: 2 threads under load are ~5x slower)"""
    seed: int = 0

    def __post_init__(self):
        for name in ("steps", "batch", "horizon", "sigreg_projections", "episodes",
                     "episode_steps", "log_every", "threads"):
            v = getattr(self, name)
            _check(isinstance(v, int) and v >= 1, name, v, "use a positive integer")
        _check(self.probe_steps >= 0, "probe_steps", self.probe_steps, "use 0 or more")
        _check(self.lr > 0, "lr", self.lr, "use a positive learning rate such as 1e-3")
        _check(self.sigreg_weight >= 0, "sigreg_weight", self.sigreg_weight, "use >= 0")
        _check(self.idm_weight >= 0, "idm_weight", self.idm_weight, "use >= 0, e.g. 1.0")
        _check(self.mask_weight >= 0, "mask_weight", self.mask_weight, "use >= 0, e.g. 1.0")
        _check(0 < self.mask_ratio < 1, "mask_ratio", self.mask_ratio,
               "use a fraction in (0, 1), e.g. 0.4")
        _check(isinstance(self.pretrain_steps, int) and 0 <= self.pretrain_steps < self.steps,
               "pretrain_steps", self.pretrain_steps, "use 0 to steps - 1")
        _check(not self.pretrain_steps or self.mask_weight > 0, "pretrain_steps",
               self.pretrain_steps, "pretraining needs the masked-frame term: give mask_weight")
        _check(0 <= self.rest_fraction < 1, "rest_fraction", self.rest_fraction,
               "use a fraction in [0, 1), e.g. 0.1")
        _check(0 < self.val_fraction < 0.5, "val_fraction", self.val_fraction,
               "use a fraction between 0 and 0.5")

    def to_dict(self) -> dict:
        return asdict(self)
