"""`train`: fine-tune a base model on a BEIR folder's train split and report on its test split, before and after.

The steps, in order (each failing early where it can, before any time is spent):

1. check ``--base`` (`resolve_base`), the output directory, the train and test splits and the number of
   labelled train queries; load the model to fine-tune (its size is checked);
2. BM25 top ``depth`` of every test query: the candidates of every evaluation, before and after;
3. evaluate the base on them (`rankwise.evaluation.evaluate`, what ``rankwise eval`` runs);
4. mine hard negatives for the train queries (BM25, and the base model unless told not to);
5. fine-tune with sentence-transformers' trainer under the time budget, into a directory beside the output;
6. for an embedded-style base, fit its calibration on the train queries held out of fine-tuning;
7. evaluate the fine-tuned model on the same candidates, write ``training.json``, and move the directory in
   place (`staged_directory`): an interrupted run leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rankwise.errors import RankwiseError
from rankwise.evaluation.beir import BeirDataset, load_beir
from rankwise.evaluation.run import EvalReport, candidates, evaluate
from rankwise.evaluation.trec import Candidates
from rankwise.reranker import Reranker
from rankwise.training.base import TrainBase, resolve_base
from rankwise.training.fit import Outcome
from rankwise.training.negatives import Mined, labelled_queries, mine_examples
from rankwise.training.settings import MAX_CPU_PARAMETERS, TrainSettings
from rankwise.training.staging import check_target, staged_directory

# Fewer labelled train queries than this are refused: below it, a batch of 32 holds every query at once (the
# in-batch negatives are then always the same few documents) and the held-out share that fits an embedded
# calibration has too few relevant documents to fit an isotonic map on.
MIN_LABELLED_QUERIES = 20
# The share of labelled train queries an embedded-style base keeps out of fine-tuning to fit its calibration on.
CALIBRATION_SHARE = 0.2
REPORT_FILE = "training.json"
CALIBRATION_FILE = "calibration.json"


class TrainingDataError(RankwiseError, ValueError):
    """The dataset cannot be trained on: no train split, no test split to report on, too few labelled queries."""


@dataclass
class TrainReport:
    """What `train` did and measured; ``to_json`` is ``training.json`` in the output directory.

    ``before``/``after`` map a label (``"embedded"``, ``"min-max fusion"``…) to the test-split `EvalReport`
    of that way of scoring; the first entry of each is the headline (the base as users get it, and the
    output as `spec` and `calibration` give it).
    """

    dataset: str
    base: str
    out: str
    spec: str
    calibration: str | None
    before: dict[str, EvalReport]
    after: dict[str, EvalReport]
    outcome: Outcome
    mined: dict[str, Any]
    train_queries: int
    calibration_queries: int
    seconds: dict[str, float]
    settings: dict[str, Any]
    machine: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "base": self.base,
            "out": self.out,
            "spec": self.spec,
            "calibration": self.calibration,
            "usage": self.usage(),
            "train_queries": self.train_queries,
            "calibration_queries": self.calibration_queries,
            "mined": self.mined,
            "training": dataclasses.asdict(self.outcome),
            "seconds": self.seconds,
            "settings": self.settings,
            "machine": self.machine,
            "before": {name: report.to_json() for name, report in self.before.items()},
            "after": {name: report.to_json() for name, report in self.after.items()},
        }

    def usage(self) -> str:
        """The line of Python that reranks with the trained model."""
        if self.calibration is None:
            return f"Reranker({self.spec!r})"
        return f"Reranker({self.spec!r}, calibration={self.calibration!r})"

    def table(self) -> str:
        """Before and after on the test split, one row per way of scoring, then what training did."""
        first = next(iter(self.before.values()))
        names = list(first.reranked)
        rows = [f"{'':<30}" + "".join(f"{n:>9}" for n in names)]
        rows.append(f"{first.first_stage_name:<30}" + "".join(f"{first.first_stage[n]:>9.4f}" for n in names))
        for when, reports in (("before", self.before), ("after", self.after)):
            for label, report in reports.items():
                rows.append(f"{(when + ': ' + label)[:30]:<30}" + "".join(f"{report.reranked[n]:>9.4f}" for n in names))
        rows.append(
            f"{self.dataset} ({first.split}, {first.queries} queries, depth {first.depth}); "
            f"fine-tuned on {self.train_queries} train queries"
            + (f", calibrated on {self.calibration_queries} others" if self.calibration else "")
        )
        rows.append(self.outcome.summary())
        rows.append(f"wrote {self.out}; use it as {self.usage()}")
        return "\n".join(rows)


def train(
    dataset: str | os.PathLike[str],
    *,
    base: str = "embedded",
    out: str | os.PathLike[str],
    settings: TrainSettings | None = None,
    mine_with_base: bool | None = None,
    depth: int = 100,
    max_queries: int | None = None,
    embedding_cache_dir: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    min_queries: int = MIN_LABELLED_QUERIES,
    max_parameters: int = MAX_CPU_PARAMETERS,
    log: Callable[[str], None] | None = None,
) -> TrainReport:
    """Fine-tune ``base`` on ``dataset``'s train split into ``out``; evaluate before and after on its test split.

    ``mine_with_base``: also rank the BM25 negatives by the base model and keep the hardest (default: for a
    bi-encoder, whose document embeddings are computed once; not for a cross-encoder, which would score every
    pair). ``depth``/``max_queries``: the test evaluation's candidates per query and query sample (as
    ``rankwise eval``). ``embedding_cache_dir``: bi-encoder document embeddings kept there (default: a
    temporary directory for the run). ``out`` must not exist (or be empty) unless ``overwrite``.

    >>> report = train("path/to/scifact", base="embedded", out="scifact-minilm")  # doctest: +SKIP
    >>> report.after["fine-tuned, calibrated"].reranked["nDCG@10"]  # doctest: +SKIP
    0.72
    """
    settings = settings or TrainSettings()
    trained_base = resolve_base(base)
    target = check_target(out, overwrite=overwrite)
    train_data, test_data = _splits(Path(dataset), max_queries)
    fit_ids, held_out = _train_queries(train_data, trained_base, min_queries)
    plan = _Plan(trained_base, base, train_data, test_data, fit_ids, held_out, settings, depth, log or _stderr)
    mine = trained_base.kind == "bi-encoder" if mine_with_base is None else mine_with_base
    with _cache_dir(embedding_cache_dir) as cache, tempfile.TemporaryDirectory(prefix="rankwise-train-onnx-") as onnx:
        network = _load(trained_base, settings, max_parameters)
        options = {"bi-encoder": {"embedding_cache_dir": cache}}
        hits = candidates(test_data, depth=depth)
        before = plan.timed("evaluation_before", _before, plan, hits, options)
        mined = plan.timed("mining", _mine, plan, options if mine else None)
        with staged_directory(target, overwrite=overwrite) as work:
            outcome = plan.timed("training", _fine_tune, plan, network, mined, work)
            return _after(
                plan, work, str(target.resolve()), hits, _trained_options(cache, onnx), before, outcome, mined
            )


@dataclass
class _Plan:
    """What a run works on, its log and the seconds each phase took."""

    base: TrainBase
    base_spec: str
    train_data: BeirDataset
    test_data: BeirDataset
    fit_ids: list[str]
    held_out: list[str]
    settings: TrainSettings
    depth: int
    say: Callable[[str], None]
    seconds: dict[str, float] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    def timed(self, phase: str, step: Callable[..., Any], *args: Any) -> Any:
        clock = time.monotonic()
        result = step(*args)
        self.seconds[phase] = time.monotonic() - clock
        return result


def _trained_options(cache: str, onnx: str) -> dict[str, dict[str, Any]]:
    """The fine-tuned model is scored on ONNX Runtime fp32 (the embedded default's runtime: the scores of torch
    fp32, faster on a CPU), exported into a directory of this run: an export keyed by the staging directory's
    path would be of no use to any later process."""
    return {
        "bi-encoder": {"embedding_cache_dir": cache, "runtime": "onnx", "precision": "fp32", "onnx_cache_dir": onnx},
        "cross-encoder": {"onnx_cache_dir": onnx},
    }


def _before(plan: _Plan, hits: Candidates, options: Mapping[str, Any]) -> dict[str, EvalReport]:
    data = plan.test_data
    plan.say(f"evaluating {plan.base.before} on {len(data.queries)} {data.name} test queries (before)")
    return _evaluate(data, hits, plan.depth, _before_rerankers(plan.base, options), plan.settings.progress)


def _mine(plan: _Plan, options: Mapping[str, Any] | None) -> Mined:
    """Hard negatives for the train queries; ranked by the base model when ``options`` are given."""
    settings = plan.settings
    how = "BM25" if options is None else "BM25, ranked by the base model"
    plan.say(f"mining {settings.negatives} hard negative(s) per positive for {len(plan.fit_ids)} train queries ({how})")
    scorer = None if options is None else _base_scorer(plan.base, options)
    try:
        return mine_examples(
            plan.train_data,
            queries=plan.fit_ids,
            per_positive=settings.negatives,
            depth=settings.mining_depth,
            scorer=scorer.score if scorer is not None else None,
            seed=settings.seed,
        )
    finally:
        if scorer is not None:
            scorer.close()


def _after(
    plan: _Plan,
    work: Path,
    final: str,
    hits: Candidates,
    options: Mapping[str, Any],
    before: dict[str, EvalReport],
    outcome: Outcome,
    mined: Mined,
) -> TrainReport:
    """Calibrate (embedded-style base), evaluate the staged model, then write the calibration and the report.

    Nothing is written into ``work`` until the evaluation is done: a model directory's fingerprint (the key of
    its ONNX export and of its embeddings) covers every file in it.
    """
    staged_spec = plan.base.after_spec(str(work))
    calibration = named = None
    if plan.base.fused:
        plan.say(f"fitting the calibration of the fused spec on {len(plan.held_out)} held-out train queries")
        calibration, named = plan.timed(
            "calibration", _fit_calibration, plan.train_data, plan.held_out, work, staged_spec, final, options
        )
    plan.say(f"evaluating the fine-tuned model on the same {len(plan.test_data.queries)} test queries (after)")
    rerankers = _after_rerankers(staged_spec, calibration, options)
    after = plan.timed(
        "evaluation_after", _evaluate, plan.test_data, hits, plan.depth, rerankers, plan.settings.progress
    )
    plan.seconds["total"] = time.monotonic() - plan.started
    report = TrainReport(
        dataset=plan.test_data.name,
        base=plan.base_spec,
        out=final,
        spec=plan.base.after_spec(final),
        calibration=str(Path(final) / CALIBRATION_FILE) if named is not None else None,
        before=before,
        after=after,
        outcome=outcome,
        mined={k: v for k, v in dataclasses.asdict(mined).items() if k != "examples"}
        | {
            "examples": len(mined.examples),
            "per_positive": plan.settings.negatives,
            "depth": plan.settings.mining_depth,
        },
        train_queries=len(plan.fit_ids),
        calibration_queries=len(plan.held_out),
        seconds=plan.seconds,
        settings=dataclasses.asdict(plan.settings),
        machine=machine_record(),
    )
    if named is not None:
        named.save(work / CALIBRATION_FILE)
    text = json.dumps(report.to_json(), indent=2).replace(str(work), final)
    (work / REPORT_FILE).write_text(text + "\n", encoding="utf-8")
    return report


def machine_record() -> dict[str, Any]:
    """The CPU (model, tracked flags), the number of logical CPUs and the load average, for reports."""
    from rankwise.cpu_features import cpu_features

    record: dict[str, Any] = {"cpu": cpu_features().as_record(), "logical_cpus": os.cpu_count()}
    with contextlib.suppress(OSError):  # no load average on this platform
        record["loadavg"] = [round(v, 2) for v in os.getloadavg()]
    return record


def _splits(root: Path, max_queries: int | None) -> tuple[BeirDataset, BeirDataset]:
    for split, why in (("train", "fine-tunes on"), ("test", "reports before and after on")):
        if not (root / "qrels" / f"{split}.tsv").is_file():
            if not (root / "corpus.jsonl").is_file():
                raise FileNotFoundError(f"{root} is not a BEIR-layout dataset: it has no corpus.jsonl")
            raise TrainingDataError(
                f"{root} has no {split} split (qrels/{split}.tsv): rankwise train {why} the {split} split's "
                "judgements; split your labelled queries into qrels/train.tsv and qrels/test.tsv"
            )
    train_data = load_beir(root, split="train")
    test_data = load_beir(root, split="test", max_queries=max_queries)
    overlap = set(train_data.queries) & set(test_data.queries)
    if overlap:
        raise TrainingDataError(
            f"{root}: {len(overlap)} queries are judged in both qrels/train.tsv and qrels/test.tsv "
            f"(e.g. {sorted(overlap)[0]!r}): the test split must hold queries training never sees"
        )
    return train_data, test_data


def _train_queries(data: BeirDataset, base: TrainBase, minimum: int) -> tuple[list[str], list[str]]:
    """The labelled train queries to fine-tune on and (embedded-style base) those held out for the calibration."""
    labelled = labelled_queries(data)
    held = [q for q in labelled if base.fused and _share(q) < CALIBRATION_SHARE]
    fit = [q for q in labelled if q not in set(held)]
    if len(fit) < minimum:
        kept = f" ({len(held)} more are held out to fit the calibration)" if held else ""
        raise TrainingDataError(
            f"{data.name} has {len(fit)} labelled train queries to fine-tune on{kept}; rankwise train needs at "
            f"least {minimum} (queries in qrels/train.tsv with a relevant document in the corpus)"
        )
    return fit, held


def _share(qid: str) -> float:
    """A stable number in [0, 1) per query id: which queries are held out does not depend on file order."""
    return int.from_bytes(hashlib.sha256(qid.encode("utf-8")).digest()[:8], "big") / 2**64


def _load(base: TrainBase, settings: TrainSettings, max_parameters: int) -> Any:
    if base.kind == "bi-encoder":
        from rankwise.training.bi_encoder import load_bi_encoder

        return load_bi_encoder(base.model, settings, max_parameters=max_parameters)
    from rankwise.training.cross_encoder import load_cross_encoder

    return load_cross_encoder(base.model, settings, max_parameters=max_parameters)


def _fine_tune(plan: _Plan, network: Any, mined: Mined, work: Path) -> Outcome:
    from transformers import set_seed

    settings = plan.settings
    plan.say(f"fine-tuning on {len(mined.examples)} examples, budget {settings.budget_minutes:g} min")
    set_seed(settings.seed)
    scratch = work / ".trainer"
    if plan.base.kind == "bi-encoder":
        from rankwise.training.bi_encoder import train_bi_encoder

        outcome = train_bi_encoder(network, mined.examples, settings, scratch)
    else:
        from rankwise.training.cross_encoder import train_cross_encoder

        outcome = train_cross_encoder(network, mined.examples, settings, scratch)
    shutil.rmtree(scratch, ignore_errors=True)
    network.save(str(work))
    plan.say(outcome.summary())
    return outcome


def _fit_calibration(
    data: BeirDataset, held_out: Sequence[str], work: Path, staged_spec: str, final: str, options: Mapping[str, Any]
) -> tuple[Any, Any]:
    """The calibration fitted for the staged spec (to evaluate with), and the same maps named for the final one."""
    from rankwise.calibration import Calibration
    from rankwise.training.calibrate import fit_fused_calibration

    cosine = Reranker(f"bi-encoder:{work}", normalize="none", backend_options=_for(f"bi-encoder:{work}", options))
    fitted = fit_fused_calibration(data, held_out, cosine.score, model=staged_spec)
    cosine.close()
    return fitted, Calibration(staged_spec.replace(str(work), final), fitted.variants, fitted.info)


def _base_scorer(base: TrainBase, options: Mapping[str, Any]) -> Reranker:
    """The base model alone, raw scores (the term being trained, for a fused base)."""
    spec = f"{base.kind}:{base.model}"
    return Reranker(spec, normalize="none", backend_options=_for(spec, options))


def _before_rerankers(base: TrainBase, options: Mapping[str, Any]) -> dict[str, Reranker]:
    rerankers = {base.before: Reranker(base.before, backend_options=_for(base.before, options))}
    if rerankers[base.before].calibration is not None:  # the embedded default: also its min-max fusion
        rerankers["min-max fusion"] = Reranker(
            base.before, normalize="none", backend_options=_for(base.before, options)
        )
    return rerankers


def _after_rerankers(spec: str, calibration: Any, options: Mapping[str, Any]) -> dict[str, Reranker]:
    if calibration is None:
        return {"fine-tuned": Reranker(spec, backend_options=_for(spec, options))}
    return {
        "fine-tuned, calibrated": Reranker(spec, calibration=calibration, backend_options=_for(spec, options)),
        "fine-tuned, min-max fusion": Reranker(spec, normalize="none", backend_options=_for(spec, options)),
    }


def _for(spec: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """The backend options of the kinds ``spec`` uses (options for a kind a spec does not use are an error)."""
    from rankwise.spec import parse_spec

    kinds = parse_spec(spec).kinds
    return {kind: dict(values) for kind, values in options.items() if kind in kinds}


def _evaluate(
    data: BeirDataset, hits: Candidates, depth: int, rerankers: Mapping[str, Reranker], progress: bool
) -> dict[str, EvalReport]:
    """`evaluate` of each reranker on the same candidates (BM25's, computed once)."""
    reports = {}
    for label, reranker in rerankers.items():
        report = evaluate(data, model=reranker, run=hits, depth=depth, progress=progress)
        reports[label] = dataclasses.replace(report, first_stage_name="bm25")
        reranker.close()
    return reports


@contextlib.contextmanager
def _cache_dir(given: str | os.PathLike[str] | None) -> Iterator[str]:
    """The embedding cache directory: the caller's, or a temporary one removed at the end."""
    if given is not None:
        yield str(given)
        return
    with tempfile.TemporaryDirectory(prefix="rankwise-train-embeddings-") as directory:
        yield directory


def _stderr(message: str) -> None:
    print(f"rankwise train: {message}", file=sys.stderr, flush=True)


def trained_reranker(directory: str | os.PathLike[str], **options: Any) -> Reranker:
    """The `Reranker` of a directory written by `train`: its spec, with its calibration when it has one
    (also after the directory was moved: the spec and the calibration then name its new path).

    ``options`` go to `Reranker` (``backend_options``, ``normalize="none"`` for the min-max fusion…).

    >>> reranker = trained_reranker("scifact-minilm")  # doctest: +SKIP
    """
    path = Path(directory)
    report = path / REPORT_FILE
    if not report.is_file():
        raise FileNotFoundError(f"{path} has no {REPORT_FILE}: it is not a directory written by rankwise train")
    record = json.loads(report.read_text(encoding="utf-8"))
    spec = str(record["spec"]).replace(str(record["out"]), str(path))
    calibration = path / CALIBRATION_FILE
    if calibration.is_file() and options.get("normalize") in (None, "calibrated") and "calibration" not in options:
        from rankwise.calibration import Calibration

        fitted = Calibration.load(calibration)  # fitted for this directory, wherever it has been moved since
        options["calibration"] = Calibration(spec, fitted.variants, fitted.info)
    return Reranker(spec, **options)
