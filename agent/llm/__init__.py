"""LLM backends behind one interface: `complete(messages, schema) -> (answer, Usage)`.

- `OpenAIBackend`: an OpenAI-compatible server (vLLM), structured outputs via response_format.
- `EmbeddedBackend`: the packaged SmolLM2-135M-Instruct in-process with the planner adapter,
  grammar-constrained; the default when no server is configured.
- `ScriptedBackend`: replays queued answers, for unit tests.

`make_backend(None | "embedded" | URL | "scripted:FILE" | LLMSettings)` picks one.
Training the planner's adapter lives apart, in `agent.llm.training`.
"""

from agent.llm.backends import make_backend
from agent.llm.base import InvalidAnswer, LLMBackend, LLMError, Usage
from agent.llm.embedded import EmbeddedBackend
from agent.llm.openai import OpenAIBackend
from agent.llm.scripted import ScriptedBackend
from agent.llm.settings import LLMSettings

__all__ = ["EmbeddedBackend", "InvalidAnswer", "LLMBackend", "LLMError", "LLMSettings",
           "OpenAIBackend", "ScriptedBackend", "Usage", "make_backend"]
