"""`compare`: several rerankers on the same first-stage candidates, with the statistics a reviewer asks for.

Every model reranks the same candidates (BM25's or a TREC run's); per model: `MEASURES`
(ir-measures), per-query latency p50/p95, an API cost estimate from token counts and a
price the user gives, a paired t-test (scipy) of per-query nDCG@10 against the first
stage and against the best model, each family Holm-corrected (statsmodels), per-query
win/tie/loss counts, the Pareto set of nDCG@10 against p50 latency, and the best model
under a latency budget. `CompareReport.markdown` and `CompareReport.html` (self-contained,
the plot embedded as a base64 PNG) write the report.

>>> pareto_front({"a": (0.70, 10.0), "b": (0.65, 2.0), "c": (0.60, 5.0)})
['b', 'a']
"""

from __future__ import annotations

import base64
import html
import io
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rankwise._optional import require
from rankwise.evaluation.beir import BeirDataset
from rankwise.evaluation.latency import latency_summary
from rankwise.evaluation.metrics import MEASURES, compute_metrics, run_from_rankings
from rankwise.evaluation.run import FIRST_STAGES, candidates, dataset_of, first_stage_label, rerank_candidates
from rankwise.evaluation.trec import write_trec_run
from rankwise.reranker import Reranker

PRIMARY = "nDCG@10"  # the measure the tests, the plot, the Pareto set and the recommendation use
TIE = 1e-9  # per-query differences within this count as ties
WORDS_TO_TOKENS = 1.3  # token estimate where a backend has no tokenizer-based estimate of its own


@dataclass
class PairedTest:
    """Per-query ``PRIMARY`` of a model against a reference: mean difference, t-test p (raw, Holm), W/T/L.

    >>> PairedTest("bm25", 0.05, 0.01, 0.02, 30, 5, 15).significant
    True
    """

    against: str
    mean_difference: float
    p_value: float
    p_holm: float
    wins: int
    ties: int
    losses: int

    @property
    def significant(self) -> bool:
        """Holm-corrected p below 0.05."""
        return self.p_holm < 0.05

    def to_json(self) -> dict[str, Any]:
        """Plain fields."""
        return {
            "against": self.against,
            "mean_difference": self.mean_difference,
            "p_value": self.p_value,
            "p_holm": self.p_holm,
            "wins": self.wins,
            "ties": self.ties,
            "losses": self.losses,
        }


@dataclass
class ModelResult:
    """One model of a comparison.

    >>> ModelResult("lexical", {"nDCG@10": 0.5}, {"p50": 3.0, "p95": 5.0, "mean": 3.2}).label
    'lexical'
    """

    spec: str
    metrics: dict[str, float]
    latency_ms: dict[str, float]
    per_query: dict[str, float] = field(default_factory=dict, repr=False)  # PRIMARY by query id
    tokens_per_1k_queries: float | None = None
    cost_per_1k_queries: float | None = None
    vs_first_stage: PairedTest | None = None
    vs_best: PairedTest | None = None
    ranking: dict[str, list[str]] = field(default_factory=dict, repr=False)

    @property
    def label(self) -> str:
        """The spec, as the user wrote it."""
        return self.spec

    def to_json(self) -> dict[str, Any]:
        """Plain fields (per-query values and rankings left out)."""
        return {
            "spec": self.spec,
            "metrics": self.metrics,
            "latency_ms": self.latency_ms,
            "tokens_per_1k_queries": self.tokens_per_1k_queries,
            "cost_per_1k_queries": self.cost_per_1k_queries,
            "vs_first_stage": self.vs_first_stage.to_json() if self.vs_first_stage else None,
            "vs_best": self.vs_best.to_json() if self.vs_best else None,
        }


def pareto_front(points: Mapping[str, tuple[float, float]]) -> list[str]:
    """Names whose ``(quality, latency)`` no other point beats on both (higher quality, lower latency), fastest first."""
    front = []
    for name, (quality, latency) in points.items():
        dominated = any(
            q >= quality and lat <= latency and (q > quality or lat < latency)
            for other, (q, lat) in points.items()
            if other != name
        )
        if not dominated:
            front.append(name)
    return sorted(front, key=lambda n: (points[n][1], -points[n][0]))


def best_under_budget(points: Mapping[str, tuple[float, float]], budget_ms: float) -> str | None:
    """The highest-quality name whose latency is within ``budget_ms`` (None if none is).

    >>> best_under_budget({"a": (0.70, 10.0), "b": (0.65, 2.0)}, 5.0)
    'b'
    """
    within = [n for n, (_, lat) in points.items() if lat <= budget_ms]
    return max(within, key=lambda n: (points[n][0], -points[n][1])) if within else None


def paired_tests(
    values: Mapping[str, Sequence[float]], reference: Sequence[float], against: str
) -> dict[str, PairedTest]:
    """scipy's paired t-test of each model's per-query values against ``reference``, Holm-corrected together.

    Identical per-query values (no difference at all) give p = 1.
    """
    stats = require("scipy.stats", extra="compare", purpose="paired significance tests in rankwise compare")
    multitest = require("statsmodels.stats.multitest", extra="compare", purpose="Holm correction in rankwise compare")
    names = list(values)
    raw: list[float] = []
    for name in names:
        diffs = [a - b for a, b in zip(values[name], reference, strict=True)]
        if all(abs(d) <= TIE for d in diffs):
            raw.append(1.0)
            continue
        p = float(stats.ttest_rel(values[name], reference).pvalue)
        raw.append(1.0 if math.isnan(p) else p)
    corrected = list(multitest.multipletests(raw, method="holm")[1]) if raw else []
    out = {}
    for name, p, p_holm in zip(names, raw, corrected, strict=True):
        diffs = [a - b for a, b in zip(values[name], reference, strict=True)]
        out[name] = PairedTest(
            against=against,
            mean_difference=sum(diffs) / len(diffs) if diffs else 0.0,
            p_value=p,
            p_holm=float(p_holm),
            wins=sum(d > TIE for d in diffs),
            ties=sum(abs(d) <= TIE for d in diffs),
            losses=sum(d < -TIE for d in diffs),
        )
    return out


def per_query(qrels: Mapping[str, Mapping[str, int]], run: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    """``PRIMARY`` for every judged query (0 where nothing was retrieved), from ir-measures."""
    ir_measures = require("ir_measures", extra="eval", purpose="computing retrieval metrics")
    values = dict.fromkeys(qrels, 0.0)
    qrels_dict = {q: dict(d) for q, d in qrels.items()}
    run_dict = {q: dict(d) for q, d in run.items() if q in qrels and d}
    for metric in ir_measures.iter_calc([ir_measures.parse_measure(PRIMARY)], qrels_dict, run_dict):
        values[metric.query_id] = float(metric.value)
    return values


def _remote(backend: object) -> bool:
    module = type(backend).__module__
    return module.startswith("rankwise.backends.api") or callable(getattr(backend, "estimate_cost", None))


def _tokens(backends: Sequence[object], query: str, texts: Sequence[str]) -> int:
    """Estimated tokens one rerank call sends to the remote backends: their own estimate, else words x 1.3."""
    total = 0
    for backend in backends:
        estimate = getattr(backend, "estimate_cost", None)
        if callable(estimate):
            total += int(estimate(query, texts).prompt_tokens)
        else:
            words = sum(len(query.split()) + len(t.split()) for t in texts)
            total += math.ceil(words * WORDS_TO_TOKENS)
    return total


@dataclass
class CompareReport:
    """Every model of a comparison on the same candidates, with the first stage's metrics as the baseline."""

    dataset: str
    split: str
    depth: int
    queries: int
    first_stage_name: str
    first_stage: dict[str, float]
    models: list[ModelResult]
    budget_ms: float | None = None
    ignore_identical_ids: bool = False
    first_stage_per_query: dict[str, float] = field(default_factory=dict, repr=False)

    # ------------------------------------------------------------------ decisions
    def points(self) -> dict[str, tuple[float, float]]:
        """``spec -> (nDCG@10, p50 ms)``."""
        return {m.spec: (m.metrics[PRIMARY], m.latency_ms["p50"]) for m in self.models}

    def pareto(self) -> list[str]:
        """The Pareto set of nDCG@10 against p50 latency, fastest first."""
        return pareto_front(self.points())

    def best(self) -> str:
        """The model with the highest mean nDCG@10."""
        return max(self.models, key=lambda m: m.metrics[PRIMARY]).spec

    def recommendation(self) -> str:
        """One line: the Pareto set, and the best model within ``budget_ms`` when one was given."""
        points = self.points()
        front = ", ".join(f"{n} ({points[n][0]:.3f} at {points[n][1]:.1f} ms)" for n in self.pareto())
        line = f"Pareto set (nDCG@10 at p50 latency per query): {front}."
        if self.budget_ms is not None:
            pick = best_under_budget(points, self.budget_ms)
            if pick is None:
                fastest = min(points, key=lambda n: points[n][1])
                line += f" No model meets p50 <= {self.budget_ms:g} ms; the fastest is {fastest} ({points[fastest][1]:.1f} ms)."
            else:
                line += f" Best within p50 <= {self.budget_ms:g} ms: {pick} (nDCG@10 {points[pick][0]:.3f})."
        return line

    def to_json(self) -> dict[str, Any]:
        """The JSON document ``rankwise compare --out`` writes (report.json)."""
        return {
            "dataset": self.dataset,
            "split": self.split,
            "depth": self.depth,
            "queries": self.queries,
            "first_stage_name": self.first_stage_name,
            "ignore_identical_ids": self.ignore_identical_ids,
            "first_stage": self.first_stage,
            "models": [m.to_json() for m in self.models],
            "best": self.best(),
            "pareto": self.pareto(),
            "budget_ms": self.budget_ms,
            "recommendation": self.recommendation(),
        }

    # ------------------------------------------------------------------ rendering
    def _rows(self) -> list[list[str]]:
        header = ["model", *MEASURES, "p50 ms", "p95 ms", "$ / 1k queries", "vs first stage", "vs best"]
        rows = [header, [self.first_stage_name, *(f"{self.first_stage[m]:.4f}" for m in MEASURES), "", "", "", "", ""]]
        for model in self.models:
            rows.append(
                [
                    model.spec,
                    *(f"{model.metrics[m]:.4f}" for m in MEASURES),
                    f"{model.latency_ms['p50']:.1f}",
                    f"{model.latency_ms['p95']:.1f}",
                    _cost(model),
                    _test(model.vs_first_stage),
                    _test(model.vs_best) if model.vs_best else "(best)",
                ]
            )
        return rows

    def _caption(self) -> str:
        return (
            f"{self.dataset} ({self.split}), {self.queries} queries, the same {self.first_stage_name} top-{self.depth} "
            f"candidates for every model; identical ids {'dropped' if self.ignore_identical_ids else 'kept'}."
        )

    def _notes(self) -> list[str]:
        return [
            "Latency: wall time of one `rerank` call per query (its candidates), model loaded beforehand.",
            f"Significance: paired t-test (scipy.stats.ttest_rel) of per-query {PRIMARY}, Holm-corrected "
            "(statsmodels) within each column; * marks p_holm < 0.05. W/T/L: per-query wins/ties/losses.",
            "Cost: estimated tokens sent to remote backends (their own estimate where they have one, else "
            f"words x {WORDS_TO_TOKENS}) x the price given with --price-per-1k-tokens; local models cost nothing.",
        ]

    def markdown(self, plot_file: str | None = None) -> str:
        """The report as Markdown (the plot linked as ``plot_file`` when given)."""
        rows = self._rows()
        lines = [f"# rankwise compare: {self.dataset}", "", self._caption(), ""]
        lines.append("| " + " | ".join(rows[0]) + " |")
        lines.append("|" + "---|" * len(rows[0]))
        lines.extend("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows[1:])
        lines += ["", f"**Recommendation.** {self.recommendation()}", ""]
        if plot_file:
            lines += [f"![nDCG@10 against p50 latency]({plot_file})", ""]
        lines += [f"- {note}" for note in self._notes()]
        return "\n".join(lines) + "\n"

    def plot_png(self) -> bytes:
        """nDCG@10 against p50 latency per query, the Pareto frontier marked, as PNG bytes (matplotlib)."""
        pyplot = require("matplotlib.pyplot", extra="compare", purpose="the plot of rankwise compare")
        figure = self.plot_figure()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        pyplot.close(figure)
        return buffer.getvalue()

    def plot_figure(self) -> Any:
        """The plot as a matplotlib ``Figure`` (Agg backend; close it with ``pyplot.close``)."""
        matplotlib = require("matplotlib", extra="compare", purpose="the plot of rankwise compare")
        matplotlib.use("Agg")
        pyplot = require("matplotlib.pyplot", extra="compare", purpose="the plot of rankwise compare")
        points = self.points()
        front = self.pareto()
        figure, axes = pyplot.subplots(figsize=(7.5, 4.5), dpi=110)
        slowest = max((max(lat, 1e-3) for _, lat in points.values()), default=0.0)
        for name, (quality, latency) in points.items():
            on_front = name in front
            axes.scatter(
                [max(latency, 1e-3)],
                [quality],
                s=70,
                marker="o" if on_front else "x",
                color="#c0392b" if on_front else "#34495e",
                zorder=3,
            )
            label = short_label(name)
            rightmost = max(latency, 1e-3) >= slowest  # its label goes left of it, inside the axes
            axes.annotate(
                label if len(label) <= 40 else label[:37] + "...",
                (max(latency, 1e-3), quality),
                textcoords="offset points",
                xytext=(-6, 4) if rightmost and len(points) > 1 else (6, 4),
                horizontalalignment="right" if rightmost and len(points) > 1 else "left",
                fontsize=8,
            )
        if len(front) > 1:
            xs = [max(points[n][1], 1e-3) for n in front]
            ys = [points[n][0] for n in front]
            axes.plot(xs, ys, linestyle="--", color="#c0392b", linewidth=1.2, label="Pareto frontier", zorder=2)
        elif front:
            axes.scatter([], [], marker="o", color="#c0392b", label="Pareto frontier")
        axes.axhline(
            self.first_stage[PRIMARY], color="#7f8c8d", linestyle=":", label=f"{self.first_stage_name} (no rerank)"
        )
        if self.budget_ms is not None:
            axes.axvline(
                self.budget_ms, color="#27ae60", linestyle="-.", linewidth=1, label=f"budget {self.budget_ms:g} ms"
            )
        latencies = [max(lat, 1e-3) for _, lat in points.values()]
        if latencies and max(latencies) / min(latencies) > 20:
            axes.set_xscale("log")
        axes.set_xlabel("p50 reranking latency per query (ms)")
        axes.set_ylabel(PRIMARY)
        axes.set_title(f"{self.dataset}: quality against latency ({self.queries} queries)")
        axes.grid(True, alpha=0.3)
        axes.legend(fontsize=8, loc="best")
        figure.tight_layout()
        return figure

    def html(self, png: bytes | None = None) -> str:
        """A self-contained HTML page: the table, the recommendation, the plot as a base64 PNG, the notes."""
        png = self.plot_png() if png is None else png
        rows = self._rows()
        head = "".join(f"<th>{html.escape(c)}</th>" for c in rows[0])
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows[1:])
        image = base64.b64encode(png).decode("ascii")
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self._notes())
        title = html.escape(f"rankwise compare: {self.dataset}")
        return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; font-size: 0.9em; }}
th, td {{ border: 1px solid #ccc; padding: 4px 8px; text-align: right; }}
th:first-child, td:first-child {{ text-align: left; }}
tbody tr:first-child {{ background: #f4f4f4; font-style: italic; }}
.recommendation {{ margin: 1em 0; padding: 0.6em 1em; background: #eef6ee; border-left: 4px solid #27ae60; }}
</style></head>
<body>
<h1>{title}</h1>
<p>{html.escape(self._caption())}</p>
<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>
<p class="recommendation"><strong>Recommendation.</strong> {html.escape(self.recommendation())}</p>
<img alt="nDCG@10 against p50 latency, Pareto frontier marked" src="data:image/png;base64,{image}">
<ul>{notes}</ul>
</body></html>
"""

    def write(self, out_dir: str | Path) -> dict[str, Path]:
        """Write report.md, report.html, report.json, compare.png and one TREC run per model under ``out_dir``."""
        import json

        root = Path(out_dir)
        root.mkdir(parents=True, exist_ok=True)
        png = self.plot_png()
        paths = {
            "png": root / "compare.png",
            "markdown": root / "report.md",
            "html": root / "report.html",
            "json": root / "report.json",
        }
        paths["png"].write_bytes(png)
        paths["markdown"].write_text(self.markdown(plot_file="compare.png"), encoding="utf-8")
        paths["html"].write_text(self.html(png), encoding="utf-8")
        paths["json"].write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")
        for model in self.models:
            if model.ranking:
                write_trec_run(root / "runs" / f"{slug(model.spec)}.trec", model.ranking, tag=slug(model.spec))
        return paths


def short_label(spec: str) -> str:
    """A spec with each local path cut to its last two parts, for the plot (the tables keep the full spec).

    >>> short_label("0.7*cross-encoder:/models/ce/v2+0.3*first-stage")
    '0.7*cross-encoder:ce/v2+0.3*first-stage'
    """
    return re.sub(r"(?<=:)/(?:[^+|*/]+/)*(?=[^+|*/]+/[^+|*/]+)", "", spec)


def slug(spec: str) -> str:
    """A file-name-safe form of a spec.

    >>> slug("0.7*cross-encoder:/models/x+0.3*first-stage")
    '0.7_cross-encoder_models_x_0.3_first-stage'
    """
    return re.sub(r"[^A-Za-z0-9.-]+", "_", spec).strip("_") or "model"


def _cost(model: ModelResult) -> str:
    if model.cost_per_1k_queries is not None:
        return f"{model.cost_per_1k_queries:.4f}"
    if model.tokens_per_1k_queries:
        return f"{model.tokens_per_1k_queries:,.0f} tok (no price)"
    return "local"


def _test(test: PairedTest | None) -> str:
    if test is None:
        return ""
    star = "*" if test.significant else ""
    return f"{test.mean_difference:+.4f}{star} p={test.p_holm:.3g} W/T/L {test.wins}/{test.ties}/{test.losses}"


def _options_for(spec: str, options: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The part of ``options`` (by backend kind) that ``spec`` uses: one set of options serves every model."""
    if not options:
        return None
    from rankwise.spec import parse_spec

    kinds = set(parse_spec(spec).kinds)
    return {kind: value for kind, value in options.items() if kind in kinds} or None


def _price_for(spec: str, prices: Mapping[str, float]) -> float | None:
    if spec in prices:
        return prices[spec]
    return prices.get("*")


def _checked_arguments(
    specs: list[str], budget_ms: float | None, prices_per_1k_tokens: Mapping[str, float] | None
) -> dict[str, float]:
    """Reject what `compare` cannot use; returns the prices as a dict."""
    if not specs:
        raise ValueError("compare needs at least one model: pass --model SPEC (repeat it for more)")
    if len(set(specs)) != len(specs):
        raise ValueError(f"a model is listed twice: {specs}")
    if budget_ms is not None and not (math.isfinite(budget_ms) and budget_ms > 0):
        raise ValueError(f"budget_ms must be a positive number, got {budget_ms!r}")
    prices = dict(prices_per_1k_tokens or {})
    for name, price in prices.items():
        if name != "*" and name not in specs:
            raise ValueError(f"a price is given for {name!r}, which is not one of the models {specs}")
        if not (math.isfinite(price) and price >= 0):
            raise ValueError(f"the price for {name!r} must be a non-negative number, got {price!r}")
    return prices


def _model_result(
    spec: str,
    reranker: Reranker,
    data: BeirDataset,
    hits: Mapping[str, Sequence[tuple[str, float]]],
    unit_price: float | None,
    progress: bool,
) -> ModelResult:
    """One model over the shared candidates: metrics, latency, per-query nDCG@10, token and cost estimate."""
    ranking, seconds = rerank_candidates(reranker, data, hits, progress=progress, label=spec)
    reranked_run = run_from_rankings(ranking)
    remote = [b for b in reranker.backends if _remote(b)]
    tokens: float | None = None
    if remote:
        total = sum(
            _tokens(remote, data.queries[q], [data.corpus[d].content for d, _ in hits[q]])
            for q in data.queries
            if hits.get(q)
        )
        tokens = 1000.0 * total / max(len(data.queries), 1)
    cost = tokens / 1000.0 * unit_price if tokens is not None and unit_price is not None else None
    return ModelResult(
        spec=spec,
        metrics=compute_metrics(data.qrels, reranked_run, MEASURES),
        latency_ms=latency_summary(list(seconds.values())),
        per_query=per_query(data.qrels, reranked_run),
        tokens_per_1k_queries=tokens,
        cost_per_1k_queries=cost,
        ranking=ranking,
    )


def _attach_tests(results: list[ModelResult], first_values: Mapping[str, float], first_stage: str) -> None:
    """Each model's paired tests against the first stage and against the best model (each family Holm-corrected)."""
    qids = list(first_values)
    vs_first = paired_tests(
        {m.spec: [m.per_query[q] for q in qids] for m in results}, [first_values[q] for q in qids], first_stage
    )
    best = max(results, key=lambda m: m.metrics[PRIMARY])
    others = {m.spec: [m.per_query[q] for q in qids] for m in results if m is not best}
    vs_best = paired_tests(others, [best.per_query[q] for q in qids], best.spec) if others else {}
    for model in results:
        model.vs_first_stage = vs_first[model.spec]
        model.vs_best = vs_best.get(model.spec)


def compare(
    dataset: str | Path | BeirDataset,
    models: Sequence[str | Reranker],
    *,
    first_stage: str = "bm25",
    depth: int = 100,
    max_queries: int | None = None,
    split: str = "test",
    run: str | Path | Mapping[str, Sequence[tuple[str, float]]] | None = None,
    qrels: str | Path | None = None,
    ignore_identical_ids: bool | None = None,
    budget_ms: float | None = None,
    prices_per_1k_tokens: Mapping[str, float] | None = None,
    backend_options: Mapping[str, Any] | None = None,
    progress: bool = False,
) -> CompareReport:
    """Rerank the same candidates with every model (a spec, or a configured `Reranker`) and compare them.

    ``prices_per_1k_tokens``: ``{spec: price}`` (``"*"`` for every remote model) in the
    user's currency per 1,000 tokens; rankwise has no prices of its own. ``backend_options``
    (by backend kind) go to each model that uses that kind. Other arguments as in
    `rankwise.evaluation.evaluate`.

    >>> report = compare("path/to/scifact", ["lexical", "embedded"], max_queries=50)  # doctest: +SKIP
    >>> report.recommendation()  # doctest: +SKIP
    'Pareto set (nDCG@10 at p50 latency per query): lexical (0.646 at 9.1 ms), embedded (0.705 at 31.0 ms).'
    """
    if first_stage not in FIRST_STAGES:
        raise ValueError(f"first_stage must be one of {list(FIRST_STAGES)}, got {first_stage!r}")
    specs = [str(m.model) if isinstance(m, Reranker) else m for m in models]
    prices = _checked_arguments(specs, budget_ms, prices_per_1k_tokens)
    data = dataset_of(dataset, split, max_queries, qrels, ignore_identical_ids)
    hits = candidates(data, depth=depth, run=run)
    first_run = run_from_rankings({q: [d for d, _ in docs] for q, docs in hits.items()})
    first_values = per_query(data.qrels, first_run)
    results = []
    for spec, given in zip(specs, models, strict=True):
        reranker = (
            given.load()
            if isinstance(given, Reranker)
            else Reranker(spec, backend_options=_options_for(spec, backend_options)).load()
        )
        results.append(_model_result(spec, reranker, data, hits, _price_for(spec, prices), progress))
    _attach_tests(results, first_values, first_stage)
    return CompareReport(
        dataset=data.name,
        split=data.split,
        depth=depth,
        queries=len(data.queries),
        first_stage_name=first_stage_label(first_stage, run),
        first_stage=compute_metrics(data.qrels, first_run, MEASURES),
        models=results,
        budget_ms=budget_ms,
        ignore_identical_ids=data.ignore_identical_ids,
        first_stage_per_query=first_values,
    )
