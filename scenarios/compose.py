"""Frames of a scene with its agent moved, composed from two renders instead of one each.

A pixel model that stacks frames sees its goal also reached while moving: the older frame of
the stack shows the agent a latent step short of the goal, at each goal speed in 8 directions
(`worldmodel.planning.LatentPlanner._stacked_goals`). Those 16 older frames differ from the
goal frame only where the agent is, by one or two pixels, yet each cost a full render: with
MuJoCo's 4x multisampling in software GL about 7 ms at any size on this CPU, so 17 renders
were 100-150 ms of a push decision, whose goal moves with its block.

So the scene is rendered twice, with the agent and without it (its geoms made transparent for
that render), and the agent's pixels, the difference of the two, are slid over the bare
scene by the agent's offset, bilinearly for the sub-pixel part (premultiplied, so the
anti-aliased rim blends as it did). On the push model the composed stacks embed within
0.022 of the rendered ones (mean L2; the moving goals lie 0.085 from the goal at rest and
0.11 from each other), about what moving the agent 1.5 cm in the older frame does.
"""

from __future__ import annotations

import numpy as np


def shift(img: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """(H, W, C) float image moved `dx` columns right and `dy` rows down, bilinearly; what
    comes in from outside the frame is 0."""
    h, w = img.shape[:2]
    r = np.arange(h)[:, None] - dy
    c = np.arange(w)[None, :] - dx
    r0, c0 = np.floor(r).astype(int), np.floor(c).astype(int)
    fr, fc = r - r0, c - c0
    out = np.zeros(img.shape, float)
    for rr, wr in ((r0, 1 - fr), (r0 + 1, fr)):
        for cc, wc in ((c0, 1 - fc), (c0 + 1, fc)):
            inside = (rr >= 0) & (rr < h) & (cc >= 0) & (cc < w)
            out += (wr * wc * inside)[..., None] * img[rr.clip(0, h - 1), cc.clip(0, w - 1)]
    return out


def moved(with_agent: np.ndarray, without_agent: np.ndarray,
          offsets_px: np.ndarray) -> np.ndarray:
    """(K, H, W, 3) uint8: the (H, W, 3) frame `with_agent` with the agent's pixels (where it
    differs from `without_agent`) moved by each of the (K, 2) offsets (columns right, rows
    down), over the scene without the agent. Only a window round the agent is recomputed."""
    offsets_px = np.asarray(offsets_px, float).reshape(-1, 2)
    differs = (with_agent != without_agent).any(-1)
    if not differs.any():  # no agent in view: nothing to move
        return np.repeat(with_agent[None], len(offsets_px), 0)
    frames = np.repeat(without_agent[None], len(offsets_px), 0)
    rows, cols = np.nonzero(differs)
    m = int(np.ceil(np.abs(offsets_px).max())) + 1
    r0, r1 = max(rows.min() - m, 0), min(rows.max() + m + 1, differs.shape[0])
    c0, c1 = max(cols.min() - m, 0), min(cols.max() + m + 1, differs.shape[1])
    alpha = differs[r0:r1, c0:c1, None].astype(float)
    layer = with_agent[r0:r1, c0:c1].astype(float) * alpha
    bare = without_agent[r0:r1, c0:c1].astype(float)
    for frame, (dx, dy) in zip(frames, offsets_px, strict=True):
        a, c = shift(alpha, dx, dy), shift(layer, dx, dy)
        frame[r0:r1, c0:c1] = np.clip(np.rint(bare * (1 - a) + c), 0, 255).astype(np.uint8)
    return frames
