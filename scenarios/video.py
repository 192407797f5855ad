"""Writing episode frames to a video file."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np


def write_video(frames: list[np.ndarray], path: str | os.PathLike, fps: int = 10) -> Path:
    """Write (H, W, 3) uint8 frames as MP4 (or GIF, by the file's suffix)."""
    import imageio.v2 as imageio

    path = Path(path)
    if not frames:
        raise ValueError("no frames to write: the episode recorded none")
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".gif":
        imageio.mimsave(path, frames, duration=1000 / fps, loop=0)
    elif path.suffix.lower() in (".mp4", ".mkv", ".webm", ".mov"):
        imageio.mimsave(path, frames, fps=fps, macro_block_size=8)
    else:
        raise ValueError(f"cannot write video {path}: use a .mp4 or .gif file name")
    return path
