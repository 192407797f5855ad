"""Writing episode frames to a video file, and drawing over them what the model imagined."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import numpy as np

from scenarios.layout import AGENT_RADIUS, BLOCK_RADIUS, PALETTE, Layout
from scenarios.world import GLASS_RGBA, agent_pos, block_pos, view_half


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


def _font(size: int):
    from PIL import ImageFont

    return ImageFont.load_default(max(9, size))


def annotate(frame: np.ndarray, layout: Layout, ghost: np.ndarray | None = None,
             caption: str = "") -> np.ndarray:
    """`frame` (a top view of `layout`) with the imagined state `ghost` (S,) drawn as hollow
    rings where the model predicted the agent and each block to be now, and `caption` in a
    band along the top."""
    from PIL import Image, ImageDraw

    img = Image.fromarray(frame)
    draw = ImageDraw.Draw(img)
    size = frame.shape[1]
    half = view_half(layout)

    def px(x: float, y: float) -> tuple[float, float]:
        return (x / half + 1) / 2 * size, (1 - y / half) / 2 * frame.shape[0]

    if ghost is not None:
        rings = [((0.1, 0.1, 0.1), agent_pos(ghost), AGENT_RADIUS)]
        rings += [(GLASS_RGBA[:3] if b.fragile else PALETTE[b.colour][:3], block_pos(ghost, i),
                   BLOCK_RADIUS) for i, b in enumerate(layout.blocks)]
        width = max(1, size // 128)
        for rgb, p, r in rings:
            (cx, cy), rr = px(*p), 1.3 * r / half / 2 * size  # round the true body
            colour = tuple(int(255 * c) for c in rgb)
            draw.ellipse([cx - rr, cy - rr, cx + rr, cy + rr], outline=colour, width=width)
            draw.ellipse([cx - rr - width, cy - rr - width, cx + rr + width, cy + rr + width],
                         outline=(255, 255, 255), width=1)
    if caption:
        font = _font(size // 22)
        lines = textwrap.wrap(caption, max(20, int(1.8 * size / max(9, size // 22))))
        band = (font.size + 3) * len(lines) + 4
        draw.rectangle([0, 0, size, band], fill=(0, 0, 0))
        for k, line in enumerate(lines):
            draw.text((4, 2 + k * (font.size + 3)), line, fill=(255, 255, 255), font=font)
    return np.asarray(img)


def card(frame: np.ndarray, text: str) -> np.ndarray:
    """`frame` darkened, with `text` across its middle: a pause in the video for a decision
    (a plan rejected and why)."""
    from PIL import Image, ImageDraw

    img = Image.fromarray((frame * 0.35).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    size = frame.shape[1]
    font = _font(size // 18)
    lines = textwrap.wrap(text, max(16, int(1.7 * size / max(9, size // 18))))
    top = frame.shape[0] // 2 - len(lines) * (font.size + 4) // 2
    for k, line in enumerate(lines):
        draw.text((size // 16, top + k * (font.size + 4)), line, fill=(255, 255, 255), font=font)
    return np.asarray(img)
