"""The embedded model with the shipped adapter: real weights, real grammar (integration)."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, Field

from agent.llm import EmbeddedBackend, LLMSettings
from agent.llm.model import ADAPTER_DIR
from agent.understand.decompose import decompose, plan_schema
from agent.understand.prompts import plan_messages
from scenarios import world_for
from scenarios.scene import SceneDescription
from scenarios.subgoals import Subgoal

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def backend() -> EmbeddedBackend:
    b = EmbeddedBackend(LLMSettings(max_tokens=160))
    assert b.health().startswith("ok: embedded SmolLM2-135M-Instruct")
    return b


@pytest.fixture(scope="module")
def sort() -> SceneDescription:
    return SceneDescription.from_layout(world_for("sort", 0).layout)


def test_adapter_ships_small():
    size = sum(p.stat().st_size for p in ADAPTER_DIR.iterdir())
    # rank 8 (shrunk from 16 by SVD) on q/k/v/o/gate/up/down of the 135M model, fp16: ~4.9 MB
    assert (ADAPTER_DIR / "adapter_config.json").is_file() and size < 6e6


def test_decomposes_a_two_step_instruction(backend, sort):
    d = decompose(backend, sort, "Shove the red block into the green zone, then head to "
                                 "the blue zone.")
    assert d.plan is not None and d.problems == [], d.raw
    # Keys come in the schema's order, the order the adapter learned (the intent first).
    assert d.raw[0].startswith('{"intent":"act","plan":{"subgoals":[{"skill":"push",'
                               '"object":"red block",')
    assert d.plan.subgoals == [Subgoal.parse("push red block into green zone"),
                               Subgoal.parse("go to blue zone")]
    assert d.usage.calls == 1 and d.usage.completion_tokens > 10 and d.usage.seconds > 0


def test_draft_tokens_change_nothing(backend, sort, monkeypatch):
    """Decoding with grammar-forced drafts gives exactly the tokens of plain decoding."""
    _, tok, _, _ = backend._runtime()
    messages = plan_messages(sort, "Step 1: go to the red zone. Step 2: push the blue block "
                                   "into the red zone.")
    text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    prompt = tok(text, add_special_tokens=False)["input_ids"]
    grammar = backend._grammar(plan_schema(sort))
    fast, _ = backend._decode(prompt, grammar)
    monkeypatch.setattr(EmbeddedBackend, "_draft", staticmethod(lambda *a: []))
    assert backend._decode(prompt, grammar)[0] == fast


def test_generic_json_answers(backend):
    class Move(BaseModel):
        direction: str
        steps: int = Field(ge=0, le=9)

    schema = {"type": "object", "required": ["direction", "steps"],
              "additionalProperties": False,
              "properties": {"direction": {"enum": ["north", "south", "east", "west"]},
                             "steps": {"type": "integer", "minimum": 0, "maximum": 9}}}
    messages = [{"role": "user", "content": "Which way is up on a map, and how many steps is "
                                            "three? Answer as JSON."}]
    move, usage = backend.complete(messages, Move)
    assert isinstance(move, Move) and usage.calls == 1
    raw, _ = backend.complete(messages, schema)
    assert raw["direction"] in ("north", "south", "east", "west") and 0 <= raw["steps"] <= 9


@pytest.mark.parametrize("message,intent", [
    ("Which block is nearest to you?", "answer"),
    ("Never mind.", "stop"),
    ("What would happen if you push the red block into the green zone?", "imagine"),
    ("Go to the kitchen.", "clarify"),  # stage 9 read it as going to the green zone
    # A known miss of the shipped adapter (issue 14 stays open; BENCHMARKS.md): on sort/0 it
    # reads it as a plan, which would move something. strict: a fix makes it fail here, and
    # the mark goes.
    pytest.param("Lift the red block.", "cannot", marks=pytest.mark.xfail(
        strict=True, reason="the shipped 135M adapter reads it as a push into the red zone")),
])
def test_messages_that_move_nothing_are_read_as_such(backend, sort, message, intent):
    d = decompose(backend, sort, message)
    assert d.reply is not None and d.reply.intent == intent, d.raw
    assert d.plan is None  # nothing to act on


@pytest.mark.parametrize("message", ["Lift the red block.", "Go to the kitchen."])
def test_a_misread_that_would_move_asks_first(backend, sort, message):
    """Misreads that name no target, yet the model's plan takes something to one:
    the agent says what it understood and waits for a yes (`Decomposition.doubt`)."""
    d = decompose(backend, sort, message)
    assert d.plan is None or d.asks_first, d.raw


def test_the_intent_comes_with_the_models_confidence(backend, sort):
    sure = decompose(backend, sort, "Push the red block into the green zone.")
    assert sure.confidence is not None and sure.confidence > 0.9 and not sure.asks_first
    wonder = decompose(backend, sort, "Picture yourself trying to roll the red block into "
                                      "the blue zone: how does it go?")
    assert wonder.confidence is not None and wonder.confidence < 0.9
    assert wonder.plan is None or wonder.asks_first  # never acted on without a yes


def test_drawn_answers_fit_the_schema_and_repeat_with_their_seed(backend, sort):
    """Sampling (for the plan critic's candidates): every draw is a valid reply, the same
    seed draws the same answer, and the draws are not all the greedy one."""
    from agent.llm.base import Sampling, samples
    from agent.understand.decompose import reply_schema

    assert samples(backend)
    messages = plan_messages(sort, "Push the red block into the green zone, then push the "
                                   "blue block into the yellow zone.")
    schema = reply_schema(sort)
    greedy, _ = backend.complete(messages, schema)
    draws = [backend.complete(messages, schema, sampling=Sampling(1.5, seed))[0]
             for seed in range(4)]
    again, _ = backend.complete(messages, schema, sampling=Sampling(1.5, 0))
    assert again == draws[0]
    assert all(d["intent"] in ("act", "answer", "imagine", "clarify", "cannot", "stop")
               for d in draws)
    assert any(d != greedy for d in draws)
