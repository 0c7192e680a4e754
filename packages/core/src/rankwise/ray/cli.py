"""``rankwise batch IN OUT``: rerank a file of queries with their documents, on this process or on Ray.

Each input row (JSON Lines or Parquet) has a query and a list of documents (strings or
objects with ``text``); each output row is the input row with ``scores`` (input order)
and ``ranking`` (document indices, best first) added. ``--engine ray --workers N``
spreads the rows over N Ray actors, each loading the model once.

>>> import argparse
>>> parser = argparse.ArgumentParser(); sub = parser.add_subparsers(dest="command")
>>> args = add_parser(sub).parse_args(["in.jsonl", "out.parquet", "--engine", "ray", "--workers", "2"])
>>> args.engine, args.workers, _format(args.output)
('ray', 2, 'parquet')
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from rankwise._optional import require
from rankwise.cli._common import EXIT_OK, Command, InputError, add_model_option, positive_int, subcommand


@subcommand(
    "batch",
    "rerank a JSON Lines / Parquet file of queries and their documents (locally or on Ray)",
    "Read rows with a query and a list of documents; write them back with 'scores' (one per "
    "document, input order) and 'ranking' (document indices, best first). --engine ray needs "
    "pip install 'rankwise[ray]'.",
)
def add_parser(batch: argparse.ArgumentParser) -> None:
    batch.add_argument("input", help="a .jsonl / .json (JSON Lines) or .parquet file")
    batch.add_argument("output", help="a .jsonl or .parquet file to write")
    add_model_option(batch)
    batch.add_argument("--engine", choices=["local", "ray"], default="local", help="where to run (default: local)")
    batch.add_argument("--workers", type=positive_int, default=1, help="Ray actors, each with its own model")
    batch.add_argument("--query-field", default="query", help="the query column (default: query)")
    batch.add_argument("--documents-field", default="documents", help="the documents column (default: documents)")
    batch.add_argument("--top-n", type=positive_int, help="keep only the N best indices in 'ranking'")
    batch.add_argument("--rows-per-batch", type=positive_int, default=16, help="rows per actor call (default: 16)")
    batch.add_argument("--ray-address", help="an existing Ray cluster (default: start one on this machine)")
    batch.add_argument("--num-cpus", type=positive_int, help="CPUs of the local Ray instance (default: all)")


def _format(path: str) -> str:
    suffix = Path(path).suffix.lower()
    if suffix == ".parquet":
        return "parquet"
    if suffix in (".jsonl", ".json", ".ndjson"):
        return "jsonl"
    raise InputError(f"{path}: expected a .jsonl, .json, .ndjson or .parquet file")


def _read_rows(path: str) -> Iterator[dict[str, Any]]:
    if not Path(path).is_file():
        raise InputError(f"input file {path} does not exist")
    if _format(path) == "parquet":
        parquet = require("pyarrow.parquet", extra="ray", purpose="rankwise batch on Parquet files")
        for batch in parquet.ParquetFile(path).iter_batches():
            yield from batch.to_pylist()
        return
    from rankwise.json_lines import json_objects

    with open(path, encoding="utf-8") as handle:
        try:
            for _, row in json_objects(handle, path):
                yield row
        except ValueError as exc:
            raise InputError(str(exc)) from None


class _Writer:
    """Rows to a JSON Lines or Parquet file, streamed (Parquet in row groups)."""

    def __init__(self, path: str) -> None:
        self.format = _format(path)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._handle = open(path, "w", encoding="utf-8") if self.format == "jsonl" else None  # noqa: SIM115
        self._pending: list[dict[str, Any]] = []
        self._parquet_writer: Any = None

    def write(self, row: dict[str, Any]) -> None:
        if self._handle is not None:
            self._handle.write(json.dumps(_plain(row), ensure_ascii=False) + "\n")
            return
        self._pending.append(_plain(row))
        if len(self._pending) >= 1024:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        pa = require("pyarrow", extra="ray", purpose="rankwise batch on Parquet files")
        parquet = require("pyarrow.parquet", extra="ray", purpose="rankwise batch on Parquet files")
        table = pa.Table.from_pylist(self._pending)
        if self._parquet_writer is None:
            self._parquet_writer = parquet.ParquetWriter(self.path, table.schema)
        self._parquet_writer.write_table(table)
        self._pending = []

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            return
        self._flush()
        if self._parquet_writer is not None:
            self._parquet_writer.close()


def _plain(value: Any) -> Any:
    """numpy values from Ray batches as plain Python (lists, floats, ints, strings)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if hasattr(value, "tolist"):
        return _plain(value.tolist())
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _run_local(args: argparse.Namespace, writer: _Writer) -> int:
    from rankwise.ray.batch import RANKING_COLUMN, SCORES_COLUMN, RerankRows

    rows = RerankRows(args.model, top_n=args.top_n)
    count = 0
    for row in _read_rows(args.input):
        if args.query_field not in row or not isinstance(row.get(args.documents_field), list):
            raise InputError(
                f"{args.input}, row {count + 1}: needs a {args.query_field!r} string and a "
                f"{args.documents_field!r} list (use --query-field / --documents-field)"
            )
        scores, ranking = rows.rerank_row(row[args.query_field], row[args.documents_field])
        writer.write({**row, SCORES_COLUMN: scores, RANKING_COLUMN: ranking})
        count += 1
    return count


def _run_ray(args: argparse.Namespace, writer: _Writer) -> int:
    ray = require("ray", extra="ray", purpose="rankwise batch --engine ray")
    from rankwise.ray.batch import rerank_dataset

    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=args.ray_address, num_cpus=args.num_cpus, include_dashboard=False, log_to_driver=False)
    try:
        ray.data.DataContext.get_current().execution_options.preserve_order = True  # output rows in input order
        if _format(args.input) == "parquet":
            ds = ray.data.read_parquet(args.input)
        else:
            ds = ray.data.from_items(list(_read_rows(args.input)))
        ranked = rerank_dataset(
            ds,
            model=args.model,
            query_column=args.query_field,
            documents_column=args.documents_field,
            top_n=args.top_n,
            workers=args.workers,
            batch_size=args.rows_per_batch,
        )
        count = 0
        for row in ranked.iter_rows():
            writer.write(dict(row))
            count += 1
        return count
    finally:
        if started_here:
            ray.shutdown()


def run(args: argparse.Namespace, out: IO[str]) -> int:
    """Rerank every row of ``args.input`` into ``args.output``."""
    _format(args.output)
    writer = _Writer(args.output)
    started = time.perf_counter()
    try:
        count = _run_ray(args, writer) if args.engine == "ray" else _run_local(args, writer)
    finally:
        writer.close()
    seconds = time.perf_counter() - started
    engine = f"ray, {args.workers} worker{'s' if args.workers > 1 else ''}" if args.engine == "ray" else "local"
    print(f"reranked {count} rows into {args.output} in {seconds:.1f} s ({engine})", file=sys.stderr)
    out.flush()
    return EXIT_OK


COMMAND = Command("batch", add_parser, run)
