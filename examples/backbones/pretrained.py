"""Backbone factories for `ModelConfig.encoder = "MODULE:CALLABLE"` (`wmagent train ...
--encoder pretrained:pads_keypoints` with this folder on PYTHONPATH).

A factory takes the frame size and returns a `torch.nn.Module` from frames (N, 3, H, W),
floats in [-0.5, 0.5], to features (N, ...). It loads its weights from this machine; the world
model never downloads anything. Frozen (the default), the backbone keeps those weights and
only a head on its features trains.

- `pads_keypoints`: the keypoint trunk of the shipped `pads-pixels` model, pretrained on the
  pads scenes, reused as a frozen feature extractor elsewhere (48 px frames).
- `torchvision_resnet18`: a ResNet-18 from a weights file you already have
  (`WMAGENT_RESNET18_WEIGHTS=/path/resnet18.pth`), cut before its classifier. It needs
  torchvision, which this project does not install.
"""

from __future__ import annotations

import os

import torch
from torch import nn


class _Features(nn.Module):
    def __init__(self, encoder):
        super().__init__()
        self.encoder = encoder

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder.features(x)


def pads_keypoints(size: int) -> nn.Module:
    """The shipped pads-pixels model's keypoint trunk: (N, 3, 48, 48) -> (N, 48)."""
    from worldmodel.checkpoint import load_packaged

    model = load_packaged("pads", "pixels")
    if size != model.config.image_size:
        raise ValueError(f"pads_keypoints reads {model.config.image_size} px frames, not {size}")
    encoder = model.encoder
    # `features` reads frames with the trunk alone; the embedding's norm and head would only
    # ride along unused in every checkpoint made on this backbone
    del encoder.norm, encoder.head
    return _Features(encoder)


def torchvision_resnet18(size: int) -> nn.Module:
    """ResNet-18 from a local weights file, pooled: (N, 3, H, W) -> (N, 512). ImageNet's
    normalisation is applied to the [-0.5, 0.5] frames first."""
    path = os.environ.get("WMAGENT_RESNET18_WEIGHTS")
    if not path or not os.path.exists(path):
        raise ValueError("set WMAGENT_RESNET18_WEIGHTS to a resnet18 .pth file on this machine "
                         "(nothing is downloaded)")
    from torchvision.models import resnet18

    net = resnet18()
    net.load_state_dict(torch.load(path, map_location="cpu"))
    net.fc = nn.Identity()
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)

    class Normalised(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = net
            self.register_buffer("mean", mean)
            self.register_buffer("std", std)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.net((x + 0.5 - self.mean) / self.std)

    return Normalised()
