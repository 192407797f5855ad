"""Rendering must not break what loads after it in the same process."""

import importlib.util
import subprocess
import sys

import pytest


@pytest.mark.skipif(importlib.util.find_spec("triton") is None, reason="triton not installed")
def test_rendering_first_then_loading_the_llm_stack_does_not_crash():
    # triton carries its own LLVM; loaded after Mesa's EGL context existed, it crashed the
    # process (a scene rendered, then the embedded LLM loaded: segmentation fault).
    code = ("from scenarios import world_for; world_for('push', 0).render(width=32); "
            "import triton; print('ok')")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0 and r.stdout.strip() == "ok", (r.returncode, r.stderr[-500:])


def test_a_scene_renders_from_any_thread():
    """The agent's graph runs nodes on a pool of threads; an EGL context is current in the
    thread that made it, so a renderer made in one thread failed in another (EGL_BAD_ACCESS)
    until each thread got its own."""
    from concurrent.futures import ThreadPoolExecutor

    from scenarios import world_for

    world = world_for("pads", 3)
    here = world.render(width=32)
    with ThreadPoolExecutor(2) as pool:
        there = [pool.submit(world.render, None, 32).result() for _ in range(3)]
    assert all((frame == here).all() for frame in there)


def test_a_moved_agent_composed_from_two_renders_looks_like_its_render():
    """A stacking pixel planner's moving goals are composed (`scenarios.compose`): the frame at
    offset 0 must be the render itself, and a moved agent must look as MuJoCo draws it there,
    closer to that render than to the agent drawn 1.5 cm off it."""
    import numpy as np

    from scenarios import world_for

    world = world_for("push", 5)
    state = world.state()
    pos = world.spec["agent.pos"]

    def render(offset):
        s = state.copy()
        s[pos] += offset
        return np.asarray(world.render(s, 48), int)

    offsets = np.array([[0.0, 0.0], [0.0375, 0.0], [0.0, -0.075], [-0.053, 0.053]])
    composed = world.render_moved(state, 48, offsets).astype(int)
    assert (composed[0] == render(offsets[0])).all()
    for frame, d in zip(composed[1:], offsets[1:], strict=True):
        err = np.abs(frame - render(d)).mean()
        assert err < 0.5  # of 0..255
        for miss in ([0.015, 0], [-0.015, 0], [0, 0.015], [0, -0.015]):
            assert err < np.abs(frame - render(d + miss)).mean()
