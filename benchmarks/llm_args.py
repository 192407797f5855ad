"""The LLM options the LLM benchmarks share, and the backend they build."""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def add_llm_options(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--untuned", action="store_true", help="the embedded model without adapter")
    ap.add_argument("--adapter", default=None, help="an adapter directory (default: shipped)")
    ap.add_argument("--llm", default="embedded", help="'embedded' or a server URL")
    ap.add_argument("--model", default=None, help="model name for a server")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (embedded)")
    ap.add_argument("--out", type=Path, default=None, help="write per-item results (JSON lines)")


def llm_backend(args: argparse.Namespace):
    """The backend the options name, its health printed with the time it took to be ready."""
    import torch

    from agent.llm import LLMSettings, make_backend

    torch.set_num_threads(args.threads)
    if args.llm == "embedded":
        settings = LLMSettings()
        if args.untuned or args.adapter:
            settings = LLMSettings(adapter=None if args.untuned else args.adapter)
    else:
        settings = LLMSettings(url=args.llm, model=args.model, timeout=600)
    backend = make_backend(settings)
    t = time.perf_counter()
    print(backend.health(), f"(ready in {time.perf_counter() - t:.1f} s)", flush=True)
    return backend
