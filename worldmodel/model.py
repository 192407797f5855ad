"""The world model: four small verbs, `encode`, `predict`, `rollout`, `energy`, plus a `probe`
and `fit` to train it on episodes held in memory.

Observations are either state vectors (S,) or frames (H, W, 3) uint8. Actions are (A,) vectors
in the units of the data (the env's own bounds, `ModelConfig.action_low/high`). One latent step
is one action chunk of k control steps, so a horizon of H latent steps spans H * k controls.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import torch
from torch import nn

from worldmodel.config import ModelConfig, TrainConfig
from worldmodel.data import Episodes
from worldmodel.fit import fit as fit_episodes
from worldmodel.layers import mlp


class PixelEncoder(nn.Module):
    """A small CNN: four stride-2 convolutions, then a linear map to the embedding."""

    def __init__(self, size: int, latent_dim: int, hidden: int):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(3, 32, 4, 2, 1), nn.GELU(),
            nn.Conv2d(32, 64, 4, 2, 1), nn.GELU(),
            nn.Conv2d(64, 64, 4, 2, 1), nn.GELU(),
            nn.Conv2d(64, 64, 4, 2, 1), nn.GELU(),
            nn.Flatten(),
            nn.Linear(64 * (size // 16) ** 2, hidden), nn.GELU(),
            nn.Linear(hidden, latent_dim),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # (B, 3, H, W) -> (B, D)


class KeypointEncoder(nn.Module):
    """Where things are, read out of feature maps (a spatial softmax, as in deep spatial
    autoencoders for control): convolutions at half resolution with two coordinate channels,
    then each of C maps becomes the expected (x, y) of its softmax, plus its mean activation.
    The same trunk reads every frame of a stack; an MLP mixes the stack's keypoints into the
    embedding, so that the difference between frames (speed) is one layer away.

    A flattening CNN (`PixelEncoder`) spends its capacity on the scene's layout and loses the
    agent, a few pixels across; keypoints keep its position to a fraction of a pixel."""

    def __init__(self, size: int, latent_dim: int, hidden: int, frames: int = 1,
                 channels: int = 16, motion: bool = False, sharpness: float = 1.0):
        super().__init__()
        self.motion = motion  # each frame also shows its difference from the one before
        self.sharpness = sharpness  # on the maps before the spatial softmax
        self.trunk = nn.Sequential(
            nn.Conv2d(8 if motion else 5, channels, 4, 2, 1), nn.GELU(),
            nn.Conv2d(channels, channels, 3, 1, 1), nn.GELU(),
            nn.Conv2d(channels, channels, 3, 1, 1),
        )
        grid = torch.linspace(-1, 1, size)
        yy, xx = torch.meshgrid(grid, grid, indexing="ij")
        self.register_buffer("coords", torch.stack([xx, yy])[None], persistent=False)
        half = torch.linspace(-1, 1, size // 2)
        hy, hx = torch.meshgrid(half, half, indexing="ij")
        self.register_buffer("grid", torch.stack([hx.flatten(), hy.flatten()], -1),
                             persistent=False)
        self.frames = frames
        # Standardised across the batch: at initialisation every map's softmax is nearly
        # uniform, so the keypoints of all frames sit near the centre and barely differ, and
        # a collapsed embedding is a stationary point of SIGReg (measured: std 2e-5 by step
        # 200 without this). Standardised, their small differences are the signal.
        self.norm = nn.BatchNorm1d(frames * 3 * channels)
        self.head = mlp(frames * 3 * channels, hidden, latent_dim)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Frames (N, 3, H, W) (with `motion`, (N, 6, H, W): each frame and its difference
        from the one before) -> (N, 3C): where each map peaks, and its mean."""
        x = torch.cat([x, self.coords.expand(x.shape[0], -1, -1, -1)], 1)
        f = self.trunk(x).flatten(2)  # (N, C, h*w / 4)
        points = torch.softmax(self.sharpness * f, -1) @ self.grid  # (N, C, 2): the peaks
        return torch.cat([points.flatten(1), f.mean(-1)], -1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (B, F*3, H, W): F frames stacked on channels -> (B, D)
        b, _, h, w = x.shape
        x = x.view(b, self.frames, 3, h, w)
        if self.motion:
            before = torch.cat([x[:, :1], x[:, :-1]], 1)  # the oldest frame: no difference
            x = torch.cat([x, x - before], 2)
        feats = self.features(x.flatten(0, 1))  # (B*F, 3C)
        return self.head(self.norm(feats.view(b, -1)))


class BackboneEncoder(nn.Module):
    """A backbone of the user's own (a pretrained network whose weights are on this machine),
    with a trainable head: `ModelConfig.encoder = "MODULE:CALLABLE"` names a factory
    `CALLABLE(image_size) -> nn.Module` that maps frames (N, 3, H, W), floats in [-0.5, 0.5],
    to features (N, ...). The same backbone reads every frame of a stack; the features are
    standardised over the batch (as the keypoints are) and an MLP makes the embedding.

    Frozen (`ModelConfig.freeze_backbone`, the default), the backbone keeps the weights its
    factory loaded, stays in eval mode and gets no gradient: only the head trains, as DINO-WM
    plans on frozen DINOv2 features. The checkpoint keeps the backbone's weights too, so it
    loads on its own; the factory must be importable wherever it is loaded."""

    def __init__(self, spec: str, size: int, latent_dim: int, hidden: int, frames: int = 1,
                 frozen: bool = True):
        super().__init__()
        self.backbone = load_factory(spec)(size)
        if not isinstance(self.backbone, nn.Module):
            raise ValueError(f"the backbone factory {spec!r} returned a "
                             f"{type(self.backbone).__name__}, not a torch.nn.Module")
        with torch.no_grad():
            was = self.backbone.training
            width = self.backbone.eval()(torch.zeros(1, 3, size, size)).flatten(1).shape[1]
            self.backbone.train(was)
        self.frozen, self.frames = frozen, frames
        if frozen:
            self.backbone.requires_grad_(False)
        self.norm = nn.BatchNorm1d(frames * width)
        self.head = mlp(frames * width, hidden, latent_dim)

    def train(self, mode: bool = True) -> BackboneEncoder:
        super().train(mode)
        if self.frozen:  # a frozen backbone's batch-norm statistics stay as loaded
            self.backbone.eval()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (B, F*3, H, W): F frames stacked on channels -> (B, D)
        b, _, h, w = x.shape
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.frozen):
            f = self.backbone(x.reshape(b * self.frames, 3, h, w)).flatten(1)
        return self.head(self.norm(f.reshape(b, -1)))


def load_factory(spec: str) -> Callable:
    """The callable that 'MODULE:CALLABLE' names, with an error that says how to fix it."""
    import importlib

    module, _, name = spec.partition(":")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as e:
        raise ValueError(f"cannot load the backbone factory {spec!r} ({e}); put MODULE on "
                         "PYTHONPATH and name a callable in it") from None


class PixelDecoder(nn.Module):
    """Mirror of `PixelEncoder`, for the reconstruction objective."""

    def __init__(self, size: int, latent_dim: int, hidden: int, frames: int = 1):
        super().__init__()
        self.s = size // 16
        self.fc = nn.Sequential(nn.Linear(latent_dim, hidden), nn.GELU(),
                                nn.Linear(hidden, 64 * self.s**2), nn.GELU())
        self.net = nn.Sequential(
            nn.ConvTranspose2d(64, 64, 4, 2, 1), nn.GELU(),
            nn.ConvTranspose2d(64, 64, 4, 2, 1), nn.GELU(),
            nn.ConvTranspose2d(64, 32, 4, 2, 1), nn.GELU(),
            nn.ConvTranspose2d(32, 3 * frames, 4, 2, 1),  # every frame of a stack
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(self.fc(z).view(-1, 64, self.s, self.s))  # (B, D) -> (B, 3, H, W)


class Predictor(nn.Module):
    """Residual action-conditioned step: z' = z + f(z, chunk)."""

    def __init__(self, latent_dim: int, chunk_size: int, hidden: int):
        super().__init__()
        self.f = mlp(latent_dim + chunk_size, hidden, latent_dim)

    def forward(self, z: torch.Tensor, chunk: torch.Tensor) -> torch.Tensor:
        return z + self.f(torch.cat([z, chunk.flatten(1)], dim=-1))


class WorldModel(nn.Module):
    """Encoder, action-conditioned predictor and state probe (and a decoder when reconstructing).

    The state normalisation (mean and std of the training data) lives in buffers, so that a
    checkpoint carries everything needed to encode raw observations.
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        c = config
        if c.obs == "state":
            self.encoder = mlp(c.state_dim, c.hidden, c.latent_dim)
        elif c.encoder == "keypoints":
            self.encoder = KeypointEncoder(c.image_size, c.latent_dim, c.hidden, c.frames,
                                           motion=c.motion, sharpness=c.sharpness)
        elif ":" in c.encoder:
            self.encoder = BackboneEncoder(c.encoder, c.image_size, c.latent_dim, c.hidden,
                                           c.frames, c.freeze_backbone)
        else:
            if c.frames != 1:
                raise ValueError("the 'cnn' encoder reads one frame; use encoder='keypoints' "
                                 "to stack frames")
            self.encoder = PixelEncoder(c.image_size, c.latent_dim, c.hidden)
        self.predictor = Predictor(c.latent_dim, c.chunk * c.action_dim, c.hidden)
        self.probe_head = mlp(c.latent_dim, c.hidden, c.n_dynamic)
        if c.objective == "reconstruction":
            self.decoder = (mlp(c.latent_dim, c.hidden, c.state_dim) if c.obs == "state"
                            else PixelDecoder(c.image_size, c.latent_dim, c.hidden, c.frames))
        self.register_buffer("state_mean", torch.zeros(c.state_dim))
        self.register_buffer("state_std", torch.ones(c.state_dim))
        # Action bounds come from the config, not the weights: not persistent, so checkpoints
        # keep the tensors they always had.
        low = torch.tensor(c.action_low or (-1.0,) * c.action_dim)
        high = torch.tensor(c.action_high or (1.0,) * c.action_dim)
        self.register_buffer("action_mid", (high + low) / 2, persistent=False)
        self.register_buffer("action_half", (high - low) / 2, persistent=False)

    # --- normalisation ---------------------------------------------------------------------
    def set_normalisation(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        self.state_mean.copy_(mean)
        self.state_std.copy_(std.clamp_min(1e-2))

    def normalise_obs(self, obs: torch.Tensor) -> torch.Tensor:
        """Raw observations -> encoder input: (B, S) scaled, or frames (B, H, W, 3) or stacks
        (B, F, H, W, 3) -> (B, 3F, H, W) in [-.5, .5], a stack's frames on the channels."""
        if self.config.obs == "state":
            return (obs.float() - self.state_mean) / self.state_std
        x = obs.float() / 255.0 - 0.5
        if x.dim() == 5:  # (B, F, H, W, 3)
            return x.permute(0, 1, 4, 2, 3).flatten(1, 2)
        return x.permute(0, 3, 1, 2)

    def normalise_action(self, actions: torch.Tensor) -> torch.Tensor:
        """Actions in the data's units (..., A) -> the unit box [-1, 1]^A the predictor reads."""
        if not (self.config.action_low or self.config.action_high):
            return actions
        return (actions - self.action_mid) / self.action_half

    def env_action(self, unit: torch.Tensor) -> torch.Tensor:
        """Actions in the unit box (..., A) -> the data's (and the env's) units."""
        if not (self.config.action_low or self.config.action_high):
            return unit
        return self.action_mid + self.action_half * unit

    # --- the verbs -------------------------------------------------------------------------
    def encode(self, obs: torch.Tensor) -> torch.Tensor:
        """Embed observations: (B, S) states, (B, H, W, 3) uint8 frames or, for a model that
        stacks `config.frames`, (B, F, H, W, 3) stacks -> (B, D)."""
        return self.encoder(self.normalise_obs(obs))

    def predict(self, z: torch.Tensor, action_chunk: torch.Tensor) -> torch.Tensor:
        """One latent step: z (B, D) and an action chunk (B, k, A) -> next z (B, D)."""
        return self.predictor(z, self.normalise_action(action_chunk))

    def rollout(self, z: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Predict H latent steps: z (B, D), actions (B, H, k, A) -> (B, H, D)."""
        out = []
        for h in range(actions.shape[1]):
            z = self.predict(z, actions[:, h])
            out.append(z)
        return torch.stack(out, dim=1)  # (B, H, D)

    def energy(self, z: torch.Tensor, z_goal: torch.Tensor) -> torch.Tensor:
        """L1 distance to the goal embedding (as V-JEPA 2-AC), summed over the horizon.

        z (B, H, D); z_goal (D,) one goal, or (K, D) a set of embeddings of the same goal
        (say, at several speeds), of which the nearest counts at each step -> (B,).
        Summing over the horizon rewards getting there early; measured here it beat the final
        step alone by a wide margin (3/30 vs 19/30 on push), and L1 beat squared distance
        (96% vs 90% on push, n=100).
        """
        if z_goal.dim() == 1:
            z_goal = z_goal[None]
        d = (z[:, :, None] - z_goal[None, None]).abs().mean(-1)  # (B, H, K)
        return d.min(-1).values.sum(-1)  # (B,)

    def probe(self, z: torch.Tensor) -> torch.Tensor:
        """Read the first n_dynamic state entries (in a scene: agent and block positions and
        velocities) out of z (..., D)."""
        n = self.config.n_dynamic
        return self.probe_head(z) * self.state_std[:n] + self.state_mean[:n]  # (..., n_dynamic)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Reconstruction objective only: z (B, D) -> normalised observation."""
        if self.config.objective != "reconstruction":
            raise ValueError("this model was trained with objective='jepa' and has no decoder; "
                             "train one with `--objective reconstruction`")
        return self.decoder(z)

    def fit(self, episodes: Episodes, config: TrainConfig | None = None,
            out: str | os.PathLike | None = None,
            progress: Callable[[int, dict], None] | None = None) -> dict:
        """Train this model on `episodes` (in memory, any lengths) with `config`; returns the
        final metrics. With `out`, metrics and a resume file are written there
        (`worldmodel.fit.fit`)."""
        return fit_episodes(self, episodes, config or TrainConfig(), out=out, progress=progress)

    @property
    def device(self) -> torch.device:
        return self.state_mean.device
