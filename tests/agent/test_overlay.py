"""The episode video draws what the model imagined over what happened."""

import numpy as np

from agent.runs.overlay import CARD_FRAMES, episode_frames
from scenarios import world_for
from scenarios.video import annotate
from scenarios.world import view_half


def test_imagined_positions_are_drawn_where_the_model_put_them_and_decisions_pause():
    world = world_for("clutter", 0)
    layout = world.layout
    start = world.state()
    push = {"skill": "push", "object": layout.blocks[0].name, "relation": "in",
            "target": layout.targets[0].name}
    imagined = start.copy()
    imagined[4:6] = (0.5, -0.5)  # the model puts the pushed block here
    values = {
        "plan": [push],
        "outcomes": [{"subgoal": push, "steps": 2, "attempt": 1}],
        "imagination": [{"subgoal": push, "path": [start.tolist(), imagined.tolist()],
                         "every": 1, "at_step": 0, "ok": True}],
        "foresight": [{"at_step": 1, "text": "done straight, the yellow block would be "
                       "knocked; going round the yellow block instead (predicted safe)"}],
    }
    frames = episode_frames(world, np.stack([start] * 3), values, size=128)
    assert len(frames) == 3 + CARD_FRAMES  # one card before step 1
    plain = annotate(world.render(start, 128), layout, None, "")
    drawn = frames[-1]  # step 2: the ghost at the imagined (0.5, -0.5)
    h = view_half(layout)
    col, row = int((0.5 / h + 1) / 2 * 128), int((1 + 0.5 / h) / 2 * 128)
    ring = drawn[row - 8: row + 9, col - 8: col + 9].astype(int)
    assert np.abs(ring - plain[row - 8: row + 9, col - 8: col + 9]).sum() > 0
    assert frames[2].mean() < plain.mean() * 0.6  # the card: darkened, with its text
