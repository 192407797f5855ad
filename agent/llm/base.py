"""What every LLM backend offers: `complete(messages, schema)`, usage accounting, health."""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, ValidationError


class Usage(BaseModel):
    """Tokens and time spent on LLM calls; add two to total them."""

    model_config = ConfigDict(frozen=True)

    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    calls: int = 0
    lead_prob: float | None = None
    """the probability the model gave the answer's first value (a typed reply's intent)
    against the other values the schema allowed there, for the last call; None where the
    backend does not report it"""

    def __add__(self, other: Usage) -> Usage:
        lead = other.lead_prob if other.lead_prob is not None else self.lead_prob
        return Usage(prompt_tokens=self.prompt_tokens + other.prompt_tokens,
                     completion_tokens=self.completion_tokens + other.completion_tokens,
                     seconds=self.seconds + other.seconds, calls=self.calls + other.calls,
                     lead_prob=lead)


class LLMError(RuntimeError):
    """The backend could not produce an answer (server down, bad model name, bad output)."""


class InvalidAnswer(LLMError):
    """The model's text did not parse or validate against the schema; `raw` keeps the text."""

    def __init__(self, message: str, raw: str):
        super().__init__(message)
        self.raw = raw


Schema = type[BaseModel] | dict


@dataclass(frozen=True)
class Sampling:
    """Draw the answer instead of taking the most likely one: how the plan critic gets other
    candidate plans from the same message (`agent.understand.candidates`)."""

    temperature: float = 0.8
    """softmax temperature over the tokens the schema allows"""
    seed: int = 0
    """the same seed, messages and schema give the same answer"""

    def __post_init__(self) -> None:
        if not self.temperature > 0:
            raise ValueError(f"Sampling.temperature must be > 0, got {self.temperature}")


@runtime_checkable
class LLMBackend(Protocol):
    """A chat model that answers with JSON matching a schema."""

    def complete(self, messages: list[dict], schema: Schema) -> tuple[Any, Usage]:
        """Answer `messages` with JSON matching `schema`, greedily.

        Returns a validated instance when `schema` is a pydantic model class, else the parsed
        JSON (a dict or list). Raises InvalidAnswer when the answer does not fit. A backend
        that can also draw answers takes a keyword `sampling: Sampling | None = None`
        (`samples`); one without it is only ever asked greedily.
        """
        ...

    def describe(self) -> str:
        """One line: backend, model and adapter."""
        ...

    def health(self) -> str:
        """One line saying the backend is usable; raises LLMError with the fix if not."""
        ...


def samples(backend: LLMBackend) -> bool:
    """Whether `backend.complete` takes `sampling=` (the shipped backends do)."""
    try:
        return "sampling" in inspect.signature(backend.complete).parameters
    except (TypeError, ValueError):
        return False


def json_schema(schema: Schema) -> dict:
    """The JSON schema of a pydantic model class, or `schema` itself when it is a dict."""
    if isinstance(schema, dict):
        return schema
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        return schema.model_json_schema()
    raise TypeError(f"schema must be a pydantic model class or a JSON-schema dict, not {schema!r}")


def parse(text: str, schema: Schema) -> Any:
    """Parse the model's text as JSON and validate it against `schema` (pydantic classes)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise InvalidAnswer(f"the answer is not JSON ({e.msg} at {e.pos})", text) from None
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        try:
            return schema.model_validate(data)
        except ValidationError as e:
            raise InvalidAnswer(f"the answer does not fit {schema.__name__}: "
                                f"{e.errors()[0]['msg']}", text) from None
    return data
