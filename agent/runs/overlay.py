"""An episode's video with what the model imagined drawn over what happened.

Each frame of the true trajectory gets the current subgoal as a caption and, where the world
model imagined that subgoal, the imagined state of the same moment as ghost rings (the
probe's predicted positions of the agent and every block). Where the critic rejected the plan
as it stood, or the imagination sent a subgoal back to the LLM, the video pauses on a card
that says what was predicted and what the agent did instead.
"""

from __future__ import annotations

import numpy as np

from scenarios.subgoals import Subgoal
from scenarios.video import annotate, card
from scenarios.world import World

CARD_FRAMES = 20
"""frames a decision card stays on screen (2 s at 10 frames per second)"""


def _segments(values: dict) -> list[tuple[int, int, dict, int]]:
    """(first step, last step, subgoal, attempt) of each attempt at a subgoal, in order."""
    out, start = [], 0
    for o in values.get("outcomes", []):
        out.append((start, start + int(o["steps"]), o["subgoal"], int(o.get("attempt", 1))))
        start += int(o["steps"])
    return out


def _imagined_for(values: dict, subgoal: dict, start: int) -> dict | None:
    """The latest imagination of `subgoal` made before its attempt began at step `start`."""
    made = [r for r in values.get("imagination", [])
            if r.get("path") and Subgoal.model_validate(r["subgoal"]) == Subgoal.model_validate(
                subgoal) and r.get("at_step", 0) <= start]
    return made[-1] if made else None


def _cards(values: dict) -> dict[int, list[str]]:
    """{step: texts} of the decisions to pause on before that step's frame."""
    out: dict[int, list[str]] = {}
    for f in values.get("foresight", []):
        out.setdefault(int(f["at_step"]), []).append(f"foresight: {f['text']}")
    for r in values.get("imagination", []):
        if not r.get("ok", True):
            said = Subgoal.model_validate(r["subgoal"]).text()
            then = "back to the LLM" if r.get("trusted", True) else (
                "going round, not trusted: acted on")
            out.setdefault(int(r.get("at_step", 0)), []).append(
                f"imagined '{said}': not reached ({r.get('reason', '')}); {then}")
    return out


def episode_frames(world: World, trajectory: np.ndarray, values: dict,
                   size: int = 256) -> list[np.ndarray]:
    """Frames of the true `trajectory` (T+1, S) in `world` with the run's imagination
    (`values`: an episode's graph state or record: outcomes, imagination, foresight) drawn
    over them."""
    n_plan = len(values.get("plan") or []) or None
    caption = [""] * len(trajectory)
    ghost: list[np.ndarray | None] = [None] * len(trajectory)
    for first, last, subgoal, attempt in _segments(values):
        said = Subgoal.model_validate(subgoal).text()
        again = f" (attempt {attempt})" if attempt > 1 else ""
        im = _imagined_for(values, subgoal, first)
        path = np.asarray(im["path"], float) if im else None
        every = int(im.get("every", 1)) if im else 1
        for t in range(first, min(last + 1, len(trajectory))):
            caption[t] = said + again + (" - rings: imagined" if path is not None else "")
            if path is not None:
                ghost[t] = path[min((t - first) // every, len(path) - 1)]
    if n_plan:
        caption[0] = caption[0] or f"plan of {n_plan} subgoal{'s' * (n_plan > 1)}"
    cards = _cards(values)
    frames = []
    for t, state in enumerate(trajectory):
        frame = world.render(state, size)
        for text in cards.get(t, []):
            frames += [card(frame, text)] * CARD_FRAMES
        frames.append(annotate(frame, world.layout, ghost[t], caption[t]))
    return frames
