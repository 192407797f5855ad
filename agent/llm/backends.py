"""One way to get an LLM backend from what a person typed: `make_backend(spec)`."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

from agent.llm.base import LLMBackend
from agent.llm.embedded import EmbeddedBackend, adapter_label
from agent.llm.openai import OpenAIBackend
from agent.llm.scripted import ScriptedBackend
from agent.llm.settings import LLMSettings


def resolve(spec: str | LLMSettings | None = None) -> LLMSettings | Path:
    """What a spec names, without connecting or loading anything: LLMSettings, or the answers
    file of 'scripted:FILE'. Specs as for `make_backend`."""
    if isinstance(spec, str) and spec.startswith("scripted:"):
        path = Path(spec.split(":", 1)[1])
        if not path.is_file():
            raise ValueError(f"scripted LLM answers file {path} does not exist")
        return path
    if spec is None:
        return LLMSettings.from_env()
    if isinstance(spec, str):
        if spec == "embedded":
            return replace(LLMSettings.from_env(), url=None)
        if spec.startswith(("http://", "https://")):
            return replace(LLMSettings.from_env(), url=spec)
        raise ValueError(f"unknown LLM backend {spec!r}: use 'embedded' or a server URL "
                         "such as http://127.0.0.1:8000/v1")
    if not isinstance(spec, LLMSettings):
        raise TypeError(f"make_backend takes None, a str or LLMSettings, not {type(spec).__name__}")
    return spec


def identity(spec: str | LLMSettings | None = None) -> dict:
    """What decides the LLM's answers, as plain data (for keying results): the embedded
    model and the adapter's digest, a server's URL and model name, or the scripted file's
    digest. A server's weights cannot be checked from here; its URL and model name stand in."""
    target = resolve(spec)
    if isinstance(target, Path):
        return {"backend": "scripted", "file": target.name,
                "sha256": hashlib.sha256(target.read_bytes()).hexdigest()}
    if target.url:
        return {"backend": "server", "url": target.url.rstrip("/"),
                "model": target.model or "(the first served)", "max_tokens": target.max_tokens}
    return {"backend": "embedded", "model": target.embedded_model,
            "adapter": adapter_label(target.adapter), "max_tokens": target.max_tokens}


def make_backend(spec: str | LLMSettings | None = None) -> LLMBackend:
    """A backend from a spec: None (the environment), 'embedded', a server URL,
    'scripted:FILE' (a JSON list of queued answers; for tests), or LLMSettings."""
    target = resolve(spec)
    if isinstance(target, Path):
        return ScriptedBackend(json.loads(target.read_text()))
    return OpenAIBackend(target) if target.url else EmbeddedBackend(target)
