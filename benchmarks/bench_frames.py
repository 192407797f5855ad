"""Frames per second: how fast this machine renders top-down frames, and collects them.

    python benchmarks/bench_frames.py [--scenario pads] [--episodes 32] [--workers 2]

Frames are the scarce resource of a pixel world model on a CPU (software rendering through
EGL). Prints, in one run: `World.render` frames per second at several sizes in one process;
then a pixel collection (`wmagent collect --pixels 48`: episodes of 40 steps, 41 frames each)
made in one process and in `--workers` processes (`scenarios.collect.collect(workers=)`),
frames per second and the ratio. The collections are identical (a test checks it), so the
ratio is the whole gain. Frames for 200k training frames in 30 minutes: 111 per second.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scenarios.collect import CollectConfig, collect  # noqa: E402
from scenarios.world import world_for  # noqa: E402


def render_rate(scenario: str, size: int, frames: int = 200) -> float:
    world = world_for(scenario, 0)
    rng = np.random.default_rng(0)
    state = world.state()
    world.render(state, size)  # the first frame sets up the GL context
    t0 = time.perf_counter()
    for _ in range(frames):
        s = state.copy()
        s[0:2] = rng.uniform(-0.8, 0.8, 2)
        world.render(s, size)
    world.close()
    return frames / (time.perf_counter() - t0)


def collect_rate(scenario: str, episodes: int, workers: int) -> float:
    cfg = CollectConfig(scenario, episodes=episodes, steps=40, pixels=48, shard_size=8)
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        collect(cfg, out, workers=workers)
        return episodes * 41 / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scenario", default="pads")
    ap.add_argument("--episodes", type=int, default=32)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    for size in (32, 48, 64, 96):
        print(f"render {size}x{size}: {render_rate(args.scenario, size):.0f} frames/s "
              "(one process)", flush=True)
    one = collect_rate(args.scenario, args.episodes, 1)
    many = collect_rate(args.scenario, args.episodes, args.workers)
    print(f"collect --pixels 48, {args.episodes} episodes of 41 frames: {one:.0f} frames/s in "
          f"one process, {many:.0f} in {args.workers} ({many / one:.2f}x); 200k frames would "
          f"take {200_000 / many / 60:.0f} min")


if __name__ == "__main__":
    main()
