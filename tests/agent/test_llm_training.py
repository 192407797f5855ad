"""The fine-tuning corpus and schedule, and the serve command line, without a model."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from agent.llm import serve
from agent.llm.training import corpus
from agent.llm.training.finetune import FinetuneConfig, lr_at
from agent.understand.prompts import SYSTEM
from scenarios.instructions import ALL_BLOCKS, CONNECT, GO, GO_HOME, PUSH
from scenarios.replies import Reply, compact


def _stem(template: str) -> str:
    return template.split("{")[0].strip(" ,.;").lower()


def test_extra_phrasings_never_use_a_test_phrasing():
    test = {_stem(t) for t in GO["test"] + PUSH["test"] + GO_HOME["test"] + ALL_BLOCKS["test"]}
    test |= {c.strip(" ,.;").lower() for c in CONNECT["test"]}
    extra = {_stem(t) for t in corpus.EXTRA_GO + corpus.EXTRA_PUSH}
    extra |= {c.strip(" ,.;").lower() for c in corpus.EXTRA_CONNECT}
    assert not test & extra
    for shape in corpus.EXTRA_PAIR:  # the test split's own sentence shapes
        assert "but first" not in shape and "after you" not in shape
        assert "to begin" not in shape and "to finish" not in shape


def test_corpus_never_uses_a_verb_only_the_test_split_uses():
    import re

    def first_words(templates):
        return {re.findall(r"[a-z']+", t.lower())[0] for t in templates}

    test = first_words(GO["test"] + PUSH["test"] + GO_HOME["test"] + ALL_BLOCKS["test"] +
                       CONNECT["test"])
    test -= first_words(GO["train"] + PUSH["train"] + GO_HOME["train"] + ALL_BLOCKS["train"] +
                        CONNECT["train"] + corpus.EXTRA_GO + corpus.EXTRA_PUSH)
    assert {"visit", "bring", "deliver", "stop", "travel"} <= test
    for ex in corpus.examples(per_family=30, seed=1, reworded=0.8, pseudo=0.6):
        words = set(re.findall(r"[a-z']+", ex.messages[1]["content"].lower()))
        assert not words & test, ex.messages[1]["content"]


def test_corpus_examples_are_chats_with_compact_plan_answers():
    examples = list(itertools.islice(corpus.examples(per_family=6), 40))
    assert len(examples) >= 24
    for ex in examples:
        assert ex.messages[0] == {"role": "system", "content": SYSTEM}
        assert ex.messages[1]["content"].startswith("Scene:\n")
        reply = Reply.model_validate_json(ex.target)  # a plan is the reply "act"
        assert reply.intent == "act" and ex.target == compact(reply) and ", " not in ex.target


def test_learning_rate_warms_up_then_decays_to_zero():
    cfg = FinetuneConfig(steps=50, warmup=5, lr=1e-3)
    lrs = [lr_at(s, cfg) for s in range(cfg.steps)]
    assert lrs[0] == pytest.approx(2e-4) and max(lrs) == pytest.approx(1e-3)
    assert lrs[-1] == pytest.approx(0.0, abs=1e-12)
    assert all(a >= b for a, b in zip(lrs[5:], lrs[6:], strict=False))


def test_finetune_config_names_the_bad_field():
    with pytest.raises(ValueError, match=r"FinetuneConfig.steps must be >= 1, got 0"):
        FinetuneConfig(steps=0)
    with pytest.raises(ValueError, match=r"FinetuneConfig.warmup must be in \[0, steps\)"):
        FinetuneConfig(steps=5, warmup=5)


def test_serve_binds_loopback_and_serves_the_adapter(monkeypatch):
    monkeypatch.setattr(serve, "hf_model_dir", lambda model: Path("/models/smollm2"))
    cfg = serve.ServeConfig(gpu=False)
    cmd = serve.command(cfg, Path("/venv/bin/python"))
    assert cmd[:3] == ["/venv/bin/python", "-m", "vllm.entrypoints.openai.api_server"]
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1" and cfg.url == "http://127.0.0.1:8000/v1"
    assert cmd[cmd.index("--lora-modules") + 1] == f"planner={serve.ADAPTER_DIR}"
    assert "--enable-lora" in cmd and cmd[cmd.index("--dtype") + 1] == "float32"
    assert cfg.served_model == "planner"
    plain = serve.ServeConfig(adapter=None, gpu=True)
    cmd = serve.command(plain, Path("python"))
    assert "--enable-lora" not in cmd and "--dtype" not in cmd
    assert plain.served_model == "SmolLM2-135M-Instruct"


def test_serve_config_rejects_bad_values():
    with pytest.raises(ValueError, match="ServeConfig.port must be in 1..65535"):
        serve.ServeConfig(port=0)
    with pytest.raises(ValueError, match="ServeConfig.adapter: no adapter_config.json in /x"):
        serve.ServeConfig(adapter="/x")


def test_reports_name_the_shipped_adapter_by_digest_not_by_this_checkouts_path(tmp_path):
    from agent.llm.embedded import adapter_label
    from agent.llm.model import ADAPTER_DIR

    shipped = adapter_label(str(ADAPTER_DIR))
    assert shipped.startswith("planner (shipped), sha256 ") and str(ADAPTER_DIR) not in shipped
    (tmp_path / "adapter_model.safetensors").write_bytes(b"other weights")
    other = adapter_label(str(tmp_path))
    assert other.startswith(str(tmp_path)) and other[-10:] != shipped[-10:]
    assert adapter_label(None) == "none (untuned)"


def test_repair_examples_answer_a_caught_mistake_with_the_right_plan():
    repairs = [ex for ex in corpus.examples(per_family=20, seed=2, reworded=1.0, repairs=1.0)
               if len(ex.messages) == 4]
    assert len(repairs) >= 30
    for ex in repairs:
        system, user, wrong, fix = ex.messages
        assert wrong["role"] == "assistant" and fix["content"].startswith("That reply has problems")
        assert "the instruction names the" in fix["content"]  # coverage_problems caught it
        assert Reply.model_validate_json(wrong["content"]) != Reply.model_validate_json(ex.target)


def test_room_only_references_never_use_the_test_splits_possessive():
    assert all("'s" not in r for r in corpus.ROOM_ONLY)
    for ex in corpus.examples(per_family=40, seed=3, reworded=1.0, repairs=0.5):
        assert "room's" not in ex.messages[1]["content"]


def test_shrinking_an_adapter_keeps_an_update_of_lower_rank_exactly(tmp_path):
    import json

    import torch
    from safetensors.torch import load_file, save_file

    from agent.llm.training.finetune import shrink_adapter

    g = torch.Generator().manual_seed(0)
    key = "base_model.model.model.layers.0.self_attn.q_proj.lora_{}.weight"
    a = torch.randn(8, 24, generator=g)  # (rank 8, in): the update below has rank 3
    b = torch.randn(16, 3, generator=g) @ torch.randn(3, 8, generator=g)  # (out, rank 8)
    src = tmp_path / "src"
    src.mkdir()
    save_file({key.format("A"): a.half(), key.format("B"): b.half()},
              src / "adapter_model.safetensors")
    (src / "adapter_config.json").write_text(json.dumps({"r": 8, "lora_alpha": 16.0}))
    (src / "training.json").write_text("{}")
    stats = shrink_adapter(src, tmp_path / "out", rank=3)
    w = load_file(tmp_path / "out" / "adapter_model.safetensors")
    assert w[key.format("A")].shape == (3, 24) and w[key.format("B")].shape == (16, 3)
    before = b.half().float() @ a.half().float()
    after = w[key.format("B")].float() @ w[key.format("A")].float()
    assert torch.allclose(after, before, atol=0.05 * before.abs().max().item())
    conf = json.loads((tmp_path / "out" / "adapter_config.json").read_text())
    assert conf["r"] == 3 and conf["lora_alpha"] == 6.0  # the scale alpha / r stays 2
    assert stats["energy_kept"] > 0.999 and (tmp_path / "out" / "training.json").is_file()
    with pytest.raises(ValueError, match="rank must be in 1..8"):
        shrink_adapter(src, tmp_path / "bad", rank=9)
