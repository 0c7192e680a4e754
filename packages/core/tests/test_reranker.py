"""The Reranker's own decisions: validation, dedup, batching, caching, cutting, ordering, fusion."""

from __future__ import annotations

import copy
import math
import re
import subprocess
import sys
from dataclasses import dataclass

import pytest
from rankwise_fakes import AsyncOverlapBackend, ConstantBackend, ShortBackend, WordOverlapBackend

from rankwise import BackendError, MissingDependencyError, Reranker, UnknownModelSpecError, rerank
from rankwise._optional import require

DOCS = ["cats purr", "dogs bark loudly", "cats and dogs", "fish swim", "a cat sleeps"]


def test_results_are_the_callers_objects_in_score_order() -> None:
    docs = [{"text": t, "id": i, "meta": {"k": [i]}} for i, t in enumerate(DOCS)]
    before = copy.deepcopy(docs)
    results = Reranker(WordOverlapBackend()).rerank("cats dogs", docs)
    assert [r.index for r in results] == [2, 0, 1, 3, 4]
    assert [r.rank for r in results] == [1, 2, 3, 4, 5]
    assert all(r.document is docs[r.index] for r in results)
    assert all(type(r.score) is float for r in results)
    assert docs == before


def test_ties_keep_input_order() -> None:
    results = Reranker(ConstantBackend(0.5)).rerank("q", DOCS)
    assert [r.index for r in results] == list(range(len(DOCS)))


def test_top_n_and_threshold_cut() -> None:
    rr = Reranker(WordOverlapBackend())
    assert [r.index for r in rr.rerank("cats dogs", DOCS, top_n=2)] == [2, 0]
    assert [r.index for r in rr.rerank("cats dogs", DOCS, score_threshold=1.0)] == [2, 0, 1]
    assert len(rr.rerank("cats dogs", DOCS, top_n=50)) == len(DOCS)


@pytest.mark.parametrize("top_n", [0, -1, 1.5, True])
def test_bad_top_n(top_n: object) -> None:
    with pytest.raises(ValueError, match="top_n"):
        Reranker(WordOverlapBackend()).rerank("q", DOCS, top_n=top_n)  # type: ignore[arg-type]


@pytest.mark.parametrize("query", ["", "   "])
def test_empty_query(query: str) -> None:
    with pytest.raises(ValueError, match="query is empty"):
        Reranker(WordOverlapBackend()).rerank(query, DOCS)


def test_non_str_query() -> None:
    with pytest.raises(TypeError, match="query must be a str"):
        Reranker(WordOverlapBackend()).rerank(None, DOCS)  # type: ignore[arg-type]


def test_empty_documents() -> None:
    backend = WordOverlapBackend()
    assert Reranker(backend).rerank("q", []) == []
    assert backend.calls == []


@pytest.mark.parametrize("bad", [None, 3, b"bytes", {"title": "no text"}, object()])
def test_bad_document_names_its_index(bad: object) -> None:
    with pytest.raises(TypeError, match="index 2"):
        Reranker(WordOverlapBackend()).rerank("q", ["a", "b", bad, "d"])


def test_documents_must_be_a_sequence() -> None:
    with pytest.raises(TypeError, match="sequence"):
        Reranker(WordOverlapBackend()).rerank("q", "just a string")


def test_objects_with_text_attributes_and_custom_fields() -> None:
    @dataclass
    class Doc:
        page_content: str

    docs = [Doc("dogs"), Doc("cats here")]
    assert Reranker(WordOverlapBackend()).rerank("cats", docs)[0].document is docs[1]
    bodies = [{"body": "dogs"}, {"body": "cats"}]
    assert Reranker(WordOverlapBackend(), text_field="body").rerank("cats", bodies)[0].index == 1
    getter = Reranker(WordOverlapBackend(), text_getter=lambda d: d["body"].upper())
    assert getter.rerank("cats", bodies)[0].index == 1


def test_duplicates_all_kept_and_scored_once() -> None:
    backend = WordOverlapBackend()
    docs = [{"text": "cats", "id": 1}, {"text": "dogs", "id": 1}, {"text": "cats", "id": 2}]
    results = Reranker(backend, cache_size=0).rerank("cats", docs)
    assert sorted(r.index for r in results) == [0, 1, 2]
    assert [r.index for r in results] == [0, 2, 1]
    assert sorted(backend.scored_texts) == ["cats", "dogs"]


def test_batches_are_length_sorted_and_order_restored() -> None:
    backend = WordOverlapBackend()
    docs = [f"cats {'x ' * n}" for n in (1, 9, 3, 7, 5)]
    results = Reranker(backend, batch_size=2).rerank("cats", docs)
    assert [len(c) for c in backend.calls] == [2, 2, 1]
    lengths = [len(t) for t in backend.scored_texts]
    assert lengths == sorted(lengths, reverse=True)
    assert [r.index for r in results] == [0, 1, 2, 3, 4]  # all tie at 1.0: input order


def test_cache_serves_repeated_queries() -> None:
    backend = WordOverlapBackend()
    rr = Reranker(backend)
    first = rr.rerank("cats", DOCS)
    second = rr.rerank("cats", DOCS)
    assert first == second
    assert len(backend.calls) == 1
    rr.rerank("dogs", DOCS)
    assert len(backend.calls) == 2
    rr.clear_cache()
    rr.rerank("cats", DOCS)
    assert len(backend.calls) == 3


def test_nan_from_backend_names_it() -> None:
    with pytest.raises(BackendError, match=r"'constant'.*NaN"):
        Reranker(ConstantBackend(math.nan)).rerank("q", DOCS)


def test_wrong_score_count_names_backend() -> None:
    with pytest.raises(BackendError, match="'short' returned 4 scores for 5 texts"):
        Reranker(ShortBackend()).rerank("q", DOCS)


def test_fallback_scores_when_backend_fails() -> None:
    rr = Reranker(ConstantBackend(math.nan), fallback=Reranker(WordOverlapBackend("backup")))
    results = rr.rerank("cats", DOCS, top_n=1)
    assert results[0].document == "cats purr"
    assert results[0].backend == "backup"


def test_normalizations() -> None:
    docs = ["cats", "cats cats", "dogs"]
    assert [r.score for r in Reranker(WordOverlapBackend(), normalize="minmax").rerank("cats", docs)] == [1.0, 0.5, 0.0]
    sig = Reranker(WordOverlapBackend(), normalize="sigmoid").rerank("cats", docs)
    assert sig[0].score == pytest.approx(1 / (1 + math.exp(-2)))
    with pytest.raises(ValueError, match="normalize"):
        Reranker(WordOverlapBackend(), normalize="softmax")  # type: ignore[arg-type]


def test_first_stage_fusion_spec() -> None:
    docs = ["cats purr", "cats", "dogs"]
    rr = Reranker("lexical+2*first-stage")
    results = rr.rerank("cats", docs, first_stage_scores=[0.0, 1.0, 3.0])
    # lexical min-max: [a, 1, 0] with "cats" highest (shorter doc); first stage min-max: [0, 1/3, 1]
    assert results[0].index == 2
    assert results[0].backend == "lexical+first-stage"
    with pytest.raises(ValueError, match="first_stage_scores"):
        rr.rerank("cats", docs)
    with pytest.raises(ValueError, match="one per document"):
        rr.rerank("cats", docs, first_stage_scores=[1.0])
    with pytest.raises(ValueError, match=r"NaN.*index 1 is nan"):
        rr.rerank("cats", docs, first_stage_scores=[1.0, math.nan, 2.0])
    for bad in (None, "2.0", True):  # a missing score, a string, a bool: named with its index, never converted
        with pytest.raises(ValueError, match=rf"must be numbers.*index 2 is {re.escape(repr(bad))}"):
            rr.rerank("cats", docs, first_stage_scores=[1.0, 0.5, bad])  # type: ignore[list-item]


def test_first_stage_or_lexical_uses_lexical_without_scores() -> None:
    rr = Reranker("first-stage|lexical")
    assert rr.rerank("cats", ["dogs", "cats"])[0].index == 1
    assert rr.rerank("cats", ["dogs", "cats"], first_stage_scores=[5.0, 1.0])[0].index == 0


def test_unknown_spec_lists_known_kinds() -> None:
    with pytest.raises(UnknownModelSpecError, match=r"not one of .*cross-encoder.*lexical"):
        Reranker("bogus:model")
    with pytest.raises(UnknownModelSpecError, match="names no model"):
        Reranker("cross-encoder:")
    with pytest.raises(TypeError, match="model must be"):
        Reranker(42)  # type: ignore[arg-type]


def test_missing_dependency_names_the_extra() -> None:
    with pytest.raises(MissingDependencyError, match=r"pip install 'rankwise\[onnx\]'"):
        require("surely_not_installed_module_xyz", extra="onnx", purpose="the test")


def test_chunking_max_pools_windows() -> None:
    backend = WordOverlapBackend()
    long_doc = " ".join(["filler"] * 50 + ["cats"])
    rr = Reranker(backend, long_documents="chunk", chunk_size=10, chunk_overlap=2)
    results = rr.rerank("cats", ["dogs", long_doc])
    assert results[0].index == 1
    assert results[0].score == 1.0
    assert max(len(t.split()) for t in backend.scored_texts) == 10
    with pytest.raises(ValueError, match="chunk"):
        Reranker(backend, long_documents="chunk", chunk_size=5, chunk_overlap=5)


def test_truncation_respects_backend_max_length() -> None:
    backend = WordOverlapBackend()
    backend.max_length = 8  # type: ignore[attr-defined]
    huge = "cats " + "word " * 100_000
    Reranker(backend).rerank("cats", [huge, "dogs"])
    assert max(len(t.split()) for t in backend.scored_texts) == 8


def test_rerank_many_and_score() -> None:
    rr = Reranker(WordOverlapBackend())
    many = rr.rerank_many([("cats", DOCS), ("fish", DOCS)], top_n=1)
    assert [m[0].index for m in many] == [0, 3]
    assert rr.score("cats", ["cats", "dogs"]) == [1.0, 0.0]


async def test_arerank_matches_rerank_for_local_backends() -> None:
    rr = Reranker(WordOverlapBackend())
    assert await rr.arerank("cats dogs", DOCS, top_n=3) == rr.rerank("cats dogs", DOCS, top_n=3)


async def test_arerank_runs_split_requests_concurrently_within_the_limit() -> None:
    backend = AsyncOverlapBackend(max_batch_size=2)
    rr = Reranker(backend, max_concurrency=2)
    docs = [f"cats {i}" for i in range(9)]
    results = await rr.arerank("cats", docs)
    assert sorted(r.index for r in results) == list(range(9))
    assert len(backend.calls) == 5
    assert backend.max_in_flight == 2


async def test_async_fallback() -> None:
    rr = Reranker(ConstantBackend(math.inf), fallback=Reranker(WordOverlapBackend("backup")))
    results = await rr.arerank("fish", DOCS, top_n=1)
    assert (results[0].document, results[0].backend) == ("fish swim", "backup")


def test_convenience_function() -> None:
    assert [r.index for r in rerank("cats", ["dogs", "cats purr"], model="lexical")] == [1, 0]


def test_invalid_constructor_arguments() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        Reranker("lexical", batch_size=0)
    with pytest.raises(ValueError, match="long_documents"):
        Reranker("lexical", long_documents="drop")  # type: ignore[arg-type]


def test_repr_has_no_secrets() -> None:
    rr = Reranker("lexical", api_key="sk-secret-value")
    assert "sk-secret-value" not in repr(rr)
    assert "sk-secret-value" not in repr(rr._config)


def test_import_rankwise_loads_no_heavy_modules() -> None:
    code = (
        "import sys, rankwise; heavy = [m for m in ('torch', 'transformers', 'sentence_transformers', "
        "'cohere', 'voyageai', 'openai', 'bm25s', 'httpx') if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


class Recorded:
    """A wrapper that records the calls reaching it and forwards everything else to the wrapped backend."""

    def __init__(self, backend: object) -> None:
        self.inner = backend
        self.name = backend.name  # type: ignore[attr-defined]
        self.default_normalization = backend.default_normalization  # type: ignore[attr-defined]
        self.queries: list[str] = []

    def __getattr__(self, attribute: str) -> object:
        if attribute.startswith("__") or "inner" not in self.__dict__:
            raise AttributeError(attribute)
        return getattr(self.inner, attribute)

    def score(self, query: str, texts: list[str]) -> list[float]:
        self.queries.append(query)
        return list(self.inner.score(query, texts))  # type: ignore[attr-defined]


def test_with_wrapped_backends_wraps_each_backend_once_and_shares_the_models() -> None:
    rr = Reranker("0.5*lexical+0.5*first-stage|lexical", normalize="none")
    made: list[Recorded] = []

    def wrap(backend: object) -> Recorded:
        made.append(Recorded(backend))
        return made[-1]

    twin = rr.with_wrapped_backends(wrap)
    (lexical,) = rr.backends  # one backend, shared by both terms
    assert [type(b) for b in twin.backends] == [Recorded]
    assert len(made) == 1
    assert made[0].inner is lexical  # the loaded model itself, not a second one
    assert made[0].set_dependent is True  # capabilities the wrapper forwards still reach the engine
    assert twin.score("cats dogs", DOCS) == rr.score("cats dogs", DOCS)
    assert made[0].queries == ["cats dogs"]  # the shared backend ran once for both terms
    assert rr.backends == [lexical]  # the original is left as it was
    assert (twin.model, twin.spec, twin.settings) == (rr.model, rr.spec, rr.settings)


def test_with_wrapped_backends_wraps_the_fallback_and_what_is_built_after_close() -> None:
    rr = Reranker(ConstantBackend(math.nan), fallback=Reranker(WordOverlapBackend("backup")))
    twin = rr.with_wrapped_backends(Recorded)
    assert [r.index for r in twin.rerank("cats dogs", DOCS)] == [r.index for r in rr.rerank("cats dogs", DOCS)]
    assert twin.fallback is not None
    assert twin.fallback is not rr.fallback
    (backup,) = twin.fallback.backends
    assert isinstance(backup, Recorded)
    assert backup.queries == ["cats dogs"]
    twin.close()
    assert all(isinstance(b, Recorded) for b in twin.backends)  # built again on use, and wrapped again
    doubled = twin.with_wrapped_backends(Recorded)
    doubled.close()
    assert [type(b.inner) for b in doubled.backends] == [Recorded]  # rebuilt under both wrappers
