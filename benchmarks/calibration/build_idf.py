"""Build the static English IDF table of the ``idf_coverage`` calibration feature, from SQuAD's TRAIN corpus.

A calibration feature may not look at the other candidates (a document's probability must not change
when documents are added), so it cannot take IDF from them, and the reranker does not see the first
stage's index. This table stands in: document frequencies of stemmed words (Lucene stop words removed,
English Snowball stemmer, as `rankwise.calibration.features` tokenises) over the 18,896 Wikipedia
paragraphs of SQuAD v1.1 train (general English; a train split, never a test one). Stems seen in fewer
than ``--min-df`` paragraphs are left out and read as unseen (the rarest weight), which keeps the file small.

    .venv/bin/python benchmarks/calibration/build_idf.py

The table is versioned by its file name (``idf-en-v1.tsv.gz``): a calibration fitted with one table is
not valid with another, so a rebuilt table gets a new name and a new feature version.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import json
from pathlib import Path

from rankwise.calibration.features import stems

ROOT = Path(__file__).resolve().parents[2]
SQUAD_TRAIN = ROOT.parent / "shared" / "datasets" / "squad" / "train" / "corpus.jsonl.gz"
OUT = ROOT / "packages/core/src/rankwise/calibrations/idf-en-v1.tsv.gz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=SQUAD_TRAIN)
    parser.add_argument("--min-df", type=int, default=3)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    df: collections.Counter[str] = collections.Counter()
    n = 0
    with gzip.open(args.corpus, "rt", encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            df.update(stems(f"{row.get('title') or ''}. {row.get('text') or ''}"))
            n += 1
    kept = sorted((s, c) for s, c in df.items() if c >= args.min_df)
    # mtime=0: the same corpus gives the same bytes
    with open(args.out, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as out:
        out.write(f"#documents\t{n}\n".encode())
        out.write("".join(f"{s}\t{c}\n" for s, c in kept).encode())
    print(f"{args.out}: {len(kept)} of {len(df)} stems (df >= {args.min_df}) over {n} paragraphs")


if __name__ == "__main__":
    main()
