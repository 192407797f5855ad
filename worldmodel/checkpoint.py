"""Checkpoints: weights as safetensors beside a JSON file holding the model config.

`NAME.safetensors` holds the tensors and, in its metadata, the model config it was saved with;
`NAME.json` holds the same config, the SHA-256 of the weights file, and training information
(command, train config, metrics). Loading rebuilds the model from the JSON config and refuses
files that disagree, whose digest differs, or whose tensors are not finite or not of the
shapes the config names. Nothing here unpickles: safetensors and JSON only.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open, save_file

from worldmodel.config import ModelConfig
from worldmodel.model import WorldModel

PACKAGED = Path(__file__).parent / "checkpoints"


def _paths(path: str | os.PathLike) -> tuple[Path, Path]:
    p = Path(path)
    if p.suffix in (".safetensors", ".json"):
        p = p.with_suffix("")
    return p.with_suffix(".safetensors"), p.with_suffix(".json")


def save(model: WorldModel, path: str | os.PathLike, info: dict | None = None) -> Path:
    """Write `path`.safetensors and `path`.json atomically; returns the safetensors path."""
    weights, meta = _paths(path)
    weights.parent.mkdir(parents=True, exist_ok=True)
    config = model.config.to_dict()
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    tmp = weights.with_suffix(".tmp")
    save_file(tensors, str(tmp), metadata={"config": json.dumps(config, sort_keys=True)})
    os.replace(tmp, weights)
    tmp = meta.with_suffix(".tmp")
    tmp.write_text(json.dumps({"config": config, "sha256": digest(weights), **(info or {})},
                              indent=1))
    os.replace(tmp, meta)
    return weights


def digest(path: str | os.PathLike) -> str:
    """SHA-256 of a file, hex."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_info(path: str | os.PathLike) -> dict:
    """The JSON beside a checkpoint: config, digest, command, train config, final metrics."""
    meta = _paths(path)[1]
    try:
        info = json.loads(meta.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{meta} is not a checkpoint's JSON ({e}); copy it again from the "
                         "`wmagent train` run that made the weights") from None
    if not isinstance(info, dict) or not isinstance(info.get("config"), dict):
        raise ValueError(f"{meta} has no \"config\" object; copy it again from the "
                         "`wmagent train` run that made the weights")
    return info


def _tensors(weights: Path, map_location: str) -> tuple[dict, dict]:
    """(saved config, tensors) of a safetensors file, or one line on what is wrong with it."""
    try:
        with safe_open(str(weights), "pt") as f:
            saved = json.loads((f.metadata() or {}).get("config", "{}"))
        return saved, load_file(str(weights), device=map_location)
    except (SafetensorError, OSError, json.JSONDecodeError) as e:
        raise ValueError(f"{weights} is not a readable safetensors file ({e}); it is truncated "
                         "or damaged: copy it again or retrain with `wmagent train`") from None


def load(path: str | os.PathLike, expect: ModelConfig | None = None,
         map_location: str = "cpu") -> WorldModel:
    """Load a checkpoint (`path` with or without suffix) into a `WorldModel` in eval mode.

    With `expect`, refuse a checkpoint whose config differs, naming the fields.
    """
    weights, meta = _paths(path)
    for p in (weights, meta):
        if not p.exists():
            raise FileNotFoundError(f"no checkpoint file {p}; make one with "
                                    f"`wmagent train SCENARIO --out {weights.parent}`")
    info = read_info(meta)
    try:
        config = ModelConfig.from_dict(info["config"])
    except (TypeError, ValueError) as e:
        raise ValueError(f"{meta}: {e}; copy it again from the `wmagent train` run that made "
                         "the weights") from None
    if "sha256" in info and digest(weights) != info["sha256"]:
        raise ValueError(f"{weights} is not the file {meta} describes (SHA-256 differs): it was "
                         "damaged or replaced; copy both files again from one `wmagent train` run")
    saved, state = _tensors(weights, map_location)
    # Read the weights' copy through the same migration as the JSON's (older files lack the
    # layout fields), so that only a real disagreement counts.
    try:
        saved = ModelConfig.from_dict(saved).to_dict()
    except (TypeError, ValueError):
        pass  # reported as a mismatch just below
    if saved != config.to_dict():
        diff = sorted(k for k in set(saved) | set(config.to_dict())
                      if saved.get(k) != config.to_dict().get(k))
        raise ValueError(f"{meta} does not match {weights} (fields {diff} differ); the two "
                         f"files come from different runs: copy both from one `wmagent train` run")
    if expect is not None and expect != config:
        diff = [f"{k}: checkpoint {v!r}, expected {expect.to_dict()[k]!r}"
                for k, v in config.to_dict().items() if expect.to_dict()[k] != v]
        raise ValueError(f"checkpoint {weights} has a different model config ({'; '.join(diff)});"
                         f" retrain with `wmagent train {expect.scenario} --obs {expect.obs} "
                         f"--objective {expect.objective}` or load another checkpoint")
    model = WorldModel(config)
    mine = model.state_dict()
    bad = [k for k in mine if k not in state or state[k].shape != mine[k].shape]
    if bad or set(state) - set(mine):
        raise ValueError(f"checkpoint {weights} does not fit its config (tensors {bad[:4]} "
                         "missing or of another shape); retrain it with `wmagent train`")
    broken = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if broken:
        raise ValueError(f"checkpoint {weights} holds NaN or infinite weights (in {broken[:4]}); "
                         "it would plan nonsense: retrain it with `wmagent train`")
    model.load_state_dict(state)
    return model.eval().to(map_location)


def packaged_path(scenario: str, obs: str = "state", objective: str = "jepa") -> Path:
    suffix = "" if objective == "jepa" else f"-{objective}"
    return PACKAGED / f"{scenario}-{obs}{suffix}"


def shipped(scenario: str, obs: str = "state", objective: str = "jepa") -> Path:
    """The path (no suffix) of the checkpoint shipped for `scenario` and `obs`, or an error
    that lists what is shipped and how to make the missing one."""
    path = packaged_path(scenario, obs, objective)
    if not path.with_suffix(".safetensors").exists():
        have = sorted(p.stem for p in PACKAGED.glob("*.safetensors"))
        raise FileNotFoundError(
            f"no packaged world model for {scenario!r} ({obs}, {objective}); shipped: {have}. "
            f"Make one with `wmagent train {scenario} --obs {obs} --objective {objective} "
            f"--out {path.parent} --name {path.name}`")
    return path


def load_packaged(scenario: str, obs: str = "state", objective: str = "jepa") -> WorldModel:
    """The checkpoint shipped inside the package for `scenario` and `obs`."""
    return load(shipped(scenario, obs, objective))
