"""One way to get an LLM backend from what a person typed: `make_backend(spec)`."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from agent.llm.base import LLMBackend
from agent.llm.embedded import EmbeddedBackend
from agent.llm.openai import OpenAIBackend
from agent.llm.scripted import ScriptedBackend
from agent.llm.settings import LLMSettings


def make_backend(spec: str | LLMSettings | None = None) -> LLMBackend:
    """A backend from a spec: None (the environment), 'embedded', a server URL,
    'scripted:FILE' (a JSON list of queued answers; for tests), or LLMSettings."""
    if isinstance(spec, str) and spec.startswith("scripted:"):
        path = Path(spec.split(":", 1)[1])
        if not path.exists():
            raise ValueError(f"scripted LLM answers file {path} does not exist")
        return ScriptedBackend(json.loads(path.read_text()))
    if spec is None:
        spec = LLMSettings.from_env()
    elif isinstance(spec, str):
        if spec == "embedded":
            spec = replace(LLMSettings.from_env(), url=None)
        elif spec.startswith(("http://", "https://")):
            spec = replace(LLMSettings.from_env(), url=spec)
        else:
            raise ValueError(f"unknown LLM backend {spec!r}: use 'embedded' or a server URL "
                             "such as http://127.0.0.1:8000/v1")
    if not isinstance(spec, LLMSettings):
        raise TypeError(f"make_backend takes None, a str or LLMSettings, not {type(spec).__name__}")
    return OpenAIBackend(spec) if spec.url else EmbeddedBackend(spec)
