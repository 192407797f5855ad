"""Turning plain typed functions into tools an LLM can call.

A tool is a function whose first parameter is the `ToolContext` (hidden from the LLM) and
whose other parameters are typed; its docstring is the description the LLM reads. The JSON
schema comes from the signature, and arguments are validated before the call.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, get_type_hints

from pydantic import BaseModel, ValidationError, create_model


@dataclass
class Tool:
    name: str
    description: str
    func: Callable[..., Any]
    arguments: type[BaseModel]

    def schema(self) -> dict:
        """OpenAI-style function description."""
        params = self.arguments.model_json_schema()
        params.pop("title", None)
        return {"type": "function",
                "function": {"name": self.name, "description": self.description,
                             "parameters": params}}

    def __call__(self, ctx: Any, **arguments: Any) -> Any:
        try:
            args = self.arguments.model_validate(arguments)
        except ValidationError as e:
            problems = "; ".join(f"{'.'.join(map(str, err['loc'])) or 'arguments'}: {err['msg']}"
                                 for err in e.errors())
            raise ValueError(f"bad arguments for tool {self.name}: {problems}") from None
        return self.func(ctx, **{k: getattr(args, k) for k in self.arguments.model_fields})


def tool(func: Callable[..., Any]) -> Tool:
    """Make a `Tool` from `func(ctx, ...)`: the schema from its signature, the description
    from its docstring."""
    hints = get_type_hints(func)
    params = list(inspect.signature(func).parameters.values())[1:]  # drop ctx
    fields = {p.name: (hints[p.name], ... if p.default is inspect.Parameter.empty else p.default)
              for p in params}
    model = create_model(f"{func.__name__}_arguments", **fields)  # type: ignore[call-overload]
    doc = inspect.getdoc(func) or ""
    return Tool(func.__name__, doc, func, model)
