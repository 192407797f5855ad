"""Latent predicate heads: how well do they read subgoals and side effects from embeddings?

    python benchmarks/bench_predicates.py --family clutter --data data/clutter-scatter [--ship]

Trains `worldmodel.heads.PredicateHeads` on the frozen shipped world model of the family, on
(start, later) pairs of true states from a collection (`tools.predicates`), holding out the
last 10% of the episodes. Prints the ROC AUC on the held-out pairs for the subgoal predicates
(`in:*`, pooled) and for the side-effect predicates (`moved:*`, `fell:*`, `broke:*`, pooled),
and per head. `--ship` writes the heads beside the shipped checkpoint
(`worldmodel/checkpoints/FAMILY-state.heads.*`), where `hybrid`'s imagination reads them.
How they do on *imagined* embeddings is measured by `benchmarks/bench_foresight.py`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scenarios.collect import load as load_collection  # noqa: E402
from scenarios.registry import get  # noqa: E402
from tools.predicates import auc, heads_path, imagined_pairs, names_for, pairs  # noqa: E402
from worldmodel import heads as wm_heads  # noqa: E402
from worldmodel import load_packaged  # noqa: E402

HELD_OUT = 0.1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--family", required=True)
    ap.add_argument("--data", type=Path, help="collection (default data/FAMILY-scatter)")
    ap.add_argument("--per-episode", type=int, default=8)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--out", type=Path, default=Path("runs/bench-predicates"))
    ap.add_argument("--ship", action="store_true", help="write the heads beside the shipped "
                    "checkpoint")
    ap.add_argument("--imagined", action="store_true", help="train on imagined pairs too "
                    "(the recorded actions rolled out in the model), half and half")
    args = ap.parse_args()
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    model = load_packaged(args.family)
    _, data = load_collection(args.data or Path(f"data/{args.family}-scatter"))
    names = names_for(get(args.family).layout(0))
    p = pairs(model, args.family, data, names, args.per_episode)
    q = imagined_pairs(model, args.family, data, names, args.per_episode)
    cut = int(len(data["state"]) * (1 - HELD_OUT))
    train, test = p.episode < cut, p.episode >= cut
    z0, z, y_train = p.z0[train], p.z[train], p.y[train]
    if args.imagined:
        z0, z = torch.cat([z0, q.z0[train]]), torch.cat([z, q.z[train]])
        y_train = torch.cat([y_train, q.y[train]])
    torch.manual_seed(0)  # the heads' initial weights: the same heads on every run
    heads = wm_heads.PredicateHeads(model.config.latent_dim, names)
    losses = wm_heads.fit(heads, z0, z, y_train, steps=args.steps)
    groups = {"subgoal": [k for k, n in enumerate(names) if n.startswith("in:")],
              "side_effect": [k for k, n in enumerate(names) if not n.startswith("in:")]}

    def scores(held):
        with torch.no_grad():
            prob = torch.sigmoid(heads(held.z0[test], held.z[test])).numpy()
        y = held.y[test].numpy()
        return prob, y, {g: auc(prob[:, ks].ravel(), y[:, ks].ravel())
                         for g, ks in groups.items()}

    prob, y, pooled = scores(p)
    _, _, pooled_imagined = scores(q)
    per_head = {n: auc(prob[:, k], y[:, k]) for k, n in enumerate(names)}
    positives = {n: int(y[:, k].sum()) for k, n in enumerate(names)}
    result = {"family": args.family, "pairs_train": int(train.sum()),
              "pairs_held_out": int(test.sum()), "auc": pooled,
              "auc_imagined": pooled_imagined, "trained_on_imagined": args.imagined,
              "auc_per_head": per_head,
              "held_out_positives": positives, "loss_first": losses[0], "loss_last": losses[-1],
              "seconds": time.perf_counter() - t0, "command": " ".join(sys.argv)}
    print(f"{args.family}: {result['pairs_train']} training pairs, {result['pairs_held_out']} "
          f"held out; loss {losses[0]:.3f} -> {losses[-1]:.3f}; {result['seconds']:.0f} s")
    print(f"held-out AUC: subgoal predicates {pooled['subgoal']:.3f}, side effects "
          f"{pooled['side_effect']:.3f}; on imagined embeddings (the recorded actions rolled "
          f"out): {pooled_imagined['subgoal']:.3f}, {pooled_imagined['side_effect']:.3f}")
    for n in names:
        a = per_head[n]
        print(f"  {n:16s} AUC {'n/a' if a is None else f'{a:.3f}'} ({positives[n]} positives)")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.family}.json").write_text(json.dumps(result, indent=1) + "\n")
    info = {"auc": pooled, "auc_imagined": pooled_imagined, "command": result["command"]}
    wm_heads.save(heads, args.out / f"{args.family}-state", info)
    if args.ship:
        print(f"shipped: {wm_heads.save(heads, heads_path(args.family), info)}")


if __name__ == "__main__":
    main()
