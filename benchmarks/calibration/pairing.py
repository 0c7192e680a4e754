"""Knowing when nothing is relevant, with the other list drawn near or far: the next query, or half the file away.

`measure.py` pairs each test query's own BM25 top-100 with the next query's list that holds none of its
relevant documents. In SQuAD's file order neighbouring questions ask about the same article, so that list is
a same-topic near miss; in SciFact's, neighbouring claims are unrelated. This measures the AUROC of the top
score both ways on the same candidates, with the shipped calibration (and the min-max fusion, raw cosine and
raw BM25 beside it), so the table's figure can be read against a list from elsewhere in the collection:

    .venv/bin/python benchmarks/calibration/pairing.py [scifact-test squad-test ...]

Writes ``benchmarks/results/calibration/pairing.json``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from common import Lists, cpu
from data import Encoder, cached
from measure import RESULTS, TEST, nothing_relevant

from rankwise.calibration import shipped

OUT = RESULTS / "pairing.json"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "names", nargs="*", help=f"collections of {list(TEST)} (default: SciFact and SQuAD, the goal's)"
    )
    args = parser.parse_args()
    args.names = args.names or ["scifact-test", "squad-test"]
    if unknown := [n for n in args.names if n not in TEST]:
        parser.error(f"unknown collections {unknown}; choose from {list(TEST)}")
    calibration = shipped("embedded-v2")
    encoder = Encoder()
    result: dict[str, object] = {"date": datetime.date.today().isoformat(), "cpu": cpu(), "collections": {}}
    for name in args.names:
        lists = Lists.of(cached(name, encoder))
        n = len(lists.collected.queries)
        row = {
            "next query (measure.py)": nothing_relevant(lists, calibration, encoder),
            f"half the file away ({n // 2} queries on)": nothing_relevant(lists, calibration, encoder, n // 2),
        }
        result["collections"][name] = row  # type: ignore[index]
        for label, r in row.items():
            print(f"{name}, {label}: {json.dumps(r)}", file=sys.stderr, flush=True)
    OUT.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {OUT}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
