"""A backend for unit tests: it replays queued answers and records what it was asked."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from agent.llm.base import Schema, Usage, parse


class ScriptedBackend:
    """Replays `answers` in order: each a JSON string, a dict, a pydantic model or an exception.

    An exception instance is raised instead of answering. `calls` records (messages, schema).
    """

    def __init__(self, answers: list):
        self.answers = list(answers)
        self.calls: list[tuple[list[dict], Schema]] = []

    def complete(self, messages: list[dict], schema: Schema) -> tuple[Any, Usage]:
        self.calls.append(([dict(m) for m in messages], schema))
        if not self.answers:
            raise AssertionError(f"ScriptedBackend ran out of answers after {len(self.calls) - 1}"
                                 " calls; queue one more")
        a = self.answers.pop(0)
        if isinstance(a, BaseException):
            raise a
        text = a.model_dump_json() if isinstance(a, BaseModel) else (
            a if isinstance(a, str) else json.dumps(a))
        prompt = sum(len(m["content"].split()) for m in messages)
        return parse(text, schema), Usage(prompt_tokens=prompt,
                                          completion_tokens=len(text.split()), calls=1)

    def describe(self) -> str:
        return f"scripted ({len(self.answers)} answers queued)"

    def health(self) -> str:
        return self.describe()
