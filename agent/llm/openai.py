"""An OpenAI-compatible chat server (vLLM in production) with structured outputs."""

from __future__ import annotations

import json
import time
from typing import Any

from agent.llm.base import (
    InvalidAnswer,
    LLMError,
    Sampling,
    Schema,
    Usage,
    json_schema,
    parse,
)
from agent.llm.settings import LLMSettings


class OpenAIBackend:
    """Talks to `settings.url` (…/v1) with `response_format` JSON schema; retries with backoff.

    Connection failures, timeouts and 5xx answers are retried `settings.retries` times, with
    waits of `settings.backoff` × 1, 2, 4 … seconds; a 4xx answer (a wrong model name, a bad
    request) is not, since asking again cannot fix it.
    """

    def __init__(self, settings: LLMSettings):
        if not settings.url:
            raise ValueError("OpenAIBackend needs a server URL: set WMAGENT_LLM_URL or pass "
                             "LLMSettings(url='http://127.0.0.1:8000/v1')")
        import httpx

        self.settings = settings
        headers = {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
        self._http = httpx.Client(base_url=settings.url.rstrip("/"), headers=headers,
                                  timeout=settings.timeout)
        self._model: str | None = settings.model

    @property
    def model(self) -> str:
        """The model name sent with each request: configured, else the server's first model."""
        if self._model is None:
            models = self._models()
            if not models:
                raise LLMError(f"the server at {self.settings.url} serves no models")
            self._model = models[0]
        return self._model

    def _request(self, method: str, path: str, body: dict | None = None) -> dict:
        """One JSON answer, or `LLMError` within `settings.timeout` seconds in all."""
        import httpx

        url = f"{self.settings.url.rstrip('/')}{path}"
        deadline = time.monotonic() + self.settings.timeout
        last, tries = "", 0
        for attempt in range(self.settings.retries + 1):
            if attempt:
                time.sleep(min(self.settings.backoff * 2 ** (attempt - 1),
                               max(0.0, deadline - time.monotonic())))
            left = deadline - time.monotonic()
            if left <= 0.1:
                break
            tries += 1
            try:
                r = self._http.request(method, path, json=body, timeout=left)
            except httpx.TimeoutException:
                last = (f"no answer from the LLM server at {url} within "
                        f"{self.settings.timeout:g} s; is it overloaded? raise "
                        "WMAGENT_LLM_TIMEOUT, or unset WMAGENT_LLM_URL for the embedded model")
                continue
            except httpx.TransportError as e:
                last = (f"cannot reach the LLM server at {url} ({type(e).__name__}); is it "
                        "running? start one with `wmagent serve` or unset WMAGENT_LLM_URL to "
                        "use the embedded model")
                continue
            if r.status_code >= 500:
                last = f"{url} answered {r.status_code}: {r.text[:200]}"
                continue
            if r.status_code == 404 and body is not None and "model" in r.text.lower():
                raise LLMError(f"the server at {self.settings.url} does not serve model "
                               f"{body.get('model')!r}; it serves {', '.join(self._models())} "
                               "(set WMAGENT_LLM_MODEL)")
            if r.status_code >= 400:
                raise LLMError(f"{url} answered {r.status_code}: {r.text[:300]}")
            try:
                out = r.json()
            except ValueError:
                raise LLMError(f"{url} answered with something that is not JSON "
                               f"({r.text[:80]!r}); is {self.settings.url} the /v1 address "
                               "of an OpenAI-compatible server?") from None
            if not isinstance(out, dict):
                raise LLMError(f"{url} answered JSON that is not an object; is "
                               f"{self.settings.url} an OpenAI-compatible server?")
            return out
        raise LLMError(f"{last or 'no time left for the LLM server'} (after {tries} "
                       f"{'try' if tries == 1 else 'tries'})")

    def _models(self) -> list[str]:
        return [m["id"] for m in self._request("GET", "/models").get("data", [])]

    def complete(self, messages: list[dict], schema: Schema,
                 sampling: Sampling | None = None) -> tuple[Any, Usage]:
        name = getattr(schema, "__name__", "answer")
        body = {
            "model": self.model, "messages": messages,
            "temperature": 0.0 if sampling is None else sampling.temperature,
            "max_tokens": self.settings.max_tokens,
            "response_format": {"type": "json_schema", "json_schema": {
                "name": name, "schema": json_schema(schema), "strict": True}},
        }
        if sampling is not None:  # vLLM and OpenAI take a per-request seed
            body["seed"] = sampling.seed
        start = time.perf_counter()
        out = self._request("POST", "/chat/completions", body)
        seconds = time.perf_counter() - start
        try:
            text = out["choices"][0]["message"]["content"] or ""
        except (KeyError, IndexError, TypeError):
            raise InvalidAnswer("the server's reply has no message content",
                                json.dumps(out)[:500]) from None
        u = out.get("usage") or {}
        usage = Usage(prompt_tokens=u.get("prompt_tokens", 0),
                      completion_tokens=u.get("completion_tokens", 0), seconds=seconds, calls=1)
        return parse(text, schema), usage

    def describe(self) -> str:
        model = self._model or "(the first served)"
        return f"openai-compatible server {self.settings.url}, model {model}"

    def health(self) -> str:
        models = self._models()
        if self._model is not None and self._model not in models:
            raise LLMError(f"the server at {self.settings.url} does not serve model "
                           f"{self._model!r}; it serves {', '.join(models)} "
                           "(set WMAGENT_LLM_MODEL)")
        return f"ok: {self.settings.url} serves {', '.join(models)}"
