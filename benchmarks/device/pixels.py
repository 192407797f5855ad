"""Pixel world models trained on a lent GPU machine, in one call (`benchmarks/device/README.md`).

Run from the repository root on the device machine, after `benchmarks/device/pixels.sh` has
installed the carried wheels. What it does, all under a wall-clock deadline:

1. unpacks the carried datasets (`.devdata/NAME/shard-*.safetensors.zst`) into `data/NAME`;
2. renders the probe frames (`probe_frames`) with the machine's GPU EGL, so that they can be
   compared with this project's software renderer before any frame from there is trusted;
3. collects the families named in `--collect` there, if rendering works;
4. trains every model of `--train` at once, each with as many steps as fit the time left
   (measured: a short calibration run of each first), and packs the checkpoints into
   $OUT/models.tgz (the tool brings back a limited number of files).

Nothing here is needed to use wmagent: it is how some shipped pixel checkpoints were made.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

START = time.monotonic()
OUT = Path(os.environ.get("OUT", "out"))
LOGS = OUT / "logs"


def log(msg: str) -> None:
    line = f"[{time.monotonic() - START:6.1f}s] {msg}"
    print(line, flush=True)
    with open(LOGS / "driver.log", "a") as f:
        f.write(line + "\n")


def unpack(root: Path) -> list[str]:
    import zstandard

    names = []
    for src in sorted(p for p in root.iterdir() if p.is_dir()):
        dst = Path("data") / src.name
        dst.mkdir(parents=True, exist_ok=True)
        shutil.copy(src / "dataset.json", dst / "dataset.json")
        for z in sorted(src.glob("*.zst")):
            with open(z, "rb") as fi, open(dst / z.name[:-4], "wb") as fo:
                zstandard.ZstdDecompressor().copy_stream(fi, fo)
        names.append(src.name)
    return names


def probe_frames() -> bool:
    """Frames of fixed states of every family at 48 and 64 px, saved for comparison."""
    from scenarios.registry import get
    from scenarios.world import World

    frames = {}
    for fam in ("pads", "push", "rooms", "sort", "clutter", "fragile", "ledge"):
        world = World(get(fam).layout(7))
        for size in (48, 64):
            frames[f"{fam}-{size}"] = world.render(None, size)
        world.close()
    np.savez_compressed(OUT / "probe-frames.npz", **frames)
    return all(f.std() > 1 for f in frames.values())


def run(cmd: list[str], name: str) -> subprocess.Popen:
    f = open(LOGS / f"{name}.log", "w")
    log(f"start {name}: {' '.join(cmd)}")
    return subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT)


WMAGENT = [sys.executable, "-m", "agent.cli"]


def train_cmd(spec: dict, steps: int, out: Path) -> list[str]:
    return WMAGENT + ["train", spec["family"], "--obs", "pixels", "--encoder", "keypoints",
                      "--frames", "2", "--sharpness", str(spec["sharpness"]),
                      "--data", spec["data"], "--steps", str(steps), "--batch",
                      str(spec["batch"]), "--idm-weight", "1.0", "--image-size",
                      str(spec["size"]), "--out", str(out)]


def seconds_per_step(out: Path) -> float | None:
    path = out / "model.metrics.jsonl"
    rows = [r for r in map(json.loads, path.read_text().splitlines() if path.exists() else [])
            if "seconds" in r]
    if len(rows) < 2:
        return None
    a, b = rows[0], rows[-1]
    return (b["seconds"] - a["seconds"]) / max(1, b["step"] - a["step"])


def train_all(specs: list[dict], deadline: float, calib_steps: int) -> None:
    """Calibrate all at once, then train all at once to fit `deadline`."""
    calib = {s["name"]: Path(f"runs/dev-calib-{s['name']}") for s in specs}
    procs = {s["name"]: run(train_cmd(s, calib_steps, calib[s["name"]]), f"calib-{s['name']}")
             for s in specs}
    for name, p in procs.items():
        p.wait()
        log(f"calib {name} rc {p.returncode}: {seconds_per_step(calib[name])} s/step")
    left = deadline - time.monotonic()
    final = {}
    for s in specs:
        sps = seconds_per_step(calib[s["name"]])
        if not sps:
            continue
        # everything runs at once, as in the calibration; 25 s of start-up and saving
        steps = int(min(s["max_steps"], max(300, (left - 25) / (sps * 1.1))))
        out = Path(f"runs/dev-{s['name']}")
        final[s["name"]] = (run(train_cmd(s, steps, out), s["name"]), out, steps)
    for name, (p, _, steps) in final.items():
        p.wait()
        log(f"{name}: rc {p.returncode} after {steps} steps")
    # one archive: the tool brings back only so many files, and no optimiser states
    keep = [f for _, out, _ in final.values() for f in out.glob("model.*")
            if not f.name.endswith(".resume.pt")]
    subprocess.run(["tar", "czf", str(OUT / "models.tgz"), *map(str, keep)], check=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--deadline", type=float, default=520.0, help="seconds from start")
    ap.add_argument("--collect", nargs="*", default=[],
                    help="FAMILY:SIZE:EPISODES:STEPS to collect here if rendering works")
    ap.add_argument("--train", nargs="*", default=[],
                    help="NAME:FAMILY:DATA:SIZE:SHARPNESS:BATCH:MAX_STEPS")
    ap.add_argument("--workers", type=int, default=12)
    ap.add_argument("--packed", default=".devdata", help="carried datasets, zstd shards")
    ap.add_argument("--collect-seconds", type=float, default=150.0)
    ap.add_argument("--collect-rate", type=float, default=1000.0,
                    help="transitions/s of all collections at once (measured on an H200 "
                    "machine with 16 cores, 10 workers: 1050; one worker alone: 272)")
    ap.add_argument("--calib-steps", type=int, default=200)
    args = ap.parse_args()
    LOGS.mkdir(parents=True, exist_ok=True)
    log(f"unpacked {unpack(Path(args.packed)) if Path(args.packed).is_dir() else []}")
    try:
        ok = probe_frames()
    except Exception as e:  # noqa: BLE001 - the report says what failed, then trains anyway
        log(f"rendering failed: {type(e).__name__}: {e}")
        ok = False
    log(f"rendering {'works' if ok else 'does not work'}")
    if ok and args.collect:
        t = time.monotonic()
        per = max(1, args.workers // len(args.collect))
        jobs = []
        for c in args.collect:
            fam, size, eps, steps = c.split(":")
            # all collections at once, sharing --collect-rate, each to end in --collect-seconds
            share = args.collect_rate / len(args.collect) * args.collect_seconds
            eps = str(int(min(int(eps), share / int(steps))))
            jobs.append(run(WMAGENT + ["collect", fam, "--episodes", eps, "--steps", steps,
                                       "--pixels", size, "--scatter", "0.5", "--workers",
                                       str(per), "--out", f"data/{fam}-px{size}"],
                            f"collect-{fam}"))
        for j in jobs:
            j.wait()
        log(f"collected {args.collect} in {time.monotonic() - t:.0f} s, rc "
            f"{[j.returncode for j in jobs]}")
    specs = []
    for t in args.train:
        name, fam, data, size, sharp, batch, mx = t.split(":")
        if not (Path(data) / "dataset.json").exists():
            log(f"skip {name}: no data in {data}")
            continue
        specs.append(dict(name=name, family=fam, data=data, size=int(size),
                          sharpness=float(sharp), batch=int(batch), max_steps=int(mx)))
    train_all(specs, START + args.deadline, args.calib_steps)
    log("done")


if __name__ == "__main__":
    main()
