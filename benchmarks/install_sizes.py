"""Build every package's wheel, install each into a fresh virtual environment, smoke-test it, measure it.

For each distribution (``rankwise`` and every adapter under ``packages/``):

1. ``python -m build --wheel --no-isolation`` (hatchling from the calling environment, so nothing is
   downloaded to build);
2. a fresh ``python -m venv`` (no ``--system-site-packages``: only the package's own dependencies), into
   which pip installs the built wheel(s) -- the adapter's and rankwise core's, given as files so that pip
   cannot take another ``rankwise`` from an index -- and their dependencies from the package index, under
   ``constraints.txt``;
3. an import smoke test in that environment, and a check that nothing heavy came along (torch,
   transformers, sentence-transformers, onnxruntime, a CUDA runtime, a JVM bridge);
4. the installed size: ``site-packages`` of the fresh environment (created ``--without-pip``; the calling
   environment's pip installs into it with ``--python``), minus that of an empty one.

    .venv/bin/python benchmarks/install_sizes.py --json benchmarks/results/install_sizes.json

Exits non-zero when a build, an install, an import or the "nothing heavy" check fails.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CONSTRAINTS = REPO / "constraints.txt"
HEAVY = ("torch", "transformers", "sentence-transformers", "onnxruntime", "pyjnius", "tensorflow", "jax")
HEAVY_PREFIXES = ("nvidia-", "triton")


@dataclass(frozen=True)
class Package:
    path: str  # under packages/
    distribution: str
    smoke: str  # Python run in the fresh environment


# Run in each fresh environment after its package's imports. A bare install has no backend extra, so building
# a reranker for the embedded default either works lazily or fails at once with the pip line that fixes it.
BUILDS = """
import sys
from rankwise.errors import MissingDependencyError
def builds(make):
    try:
        return repr(make())
    except MissingDependencyError as exc:
        assert "pip install 'rankwise[" in str(exc), exc
        return "needs an extra: " + str(exc).split(": ")[-1]
"""

PACKAGES = (
    Package(
        "core",
        "rankwise",
        "import rankwise; print(builds(lambda: rankwise.Reranker('embedded').load())); "
        "assert not {'torch', 'transformers'} & set(sys.modules), 'import rankwise loaded torch'",
    ),
    Package(
        "langchain",
        "rankwise-langchain",
        "from rankwise_langchain import RankwiseLostInTheMiddle, RankwiseRerank; "
        "from langchain_core.documents import Document; "
        "docs = [Document(page_content=str(i)) for i in range(1, 4)]; "
        "assert [d.page_content for d in RankwiseLostInTheMiddle().transform_documents(docs)] == ['1', '3', '2']; "
        "print(builds(lambda: RankwiseRerank(model='embedded').compress_documents(docs, 'q')))",
    ),
    Package(
        "llamaindex",
        "rankwise-llamaindex",
        "from rankwise_llamaindex import RankwiseLostInTheMiddle, RankwiseRerank; "
        "from llama_index.core.schema import NodeWithScore, TextNode; "
        "nodes = [NodeWithScore(node=TextNode(text=str(i)), score=1.0 / i) for i in range(1, 4)]; "
        "print(builds(lambda: RankwiseRerank(model='embedded').postprocess_nodes(nodes, query_str='q')))",
    ),
    Package(
        "haystack",
        "rankwise-haystack",
        "from haystack_integrations.components.rankers.rankwise import RankwiseRanker; "
        "from haystack import Document; "
        "print(builds(lambda: RankwiseRanker(model='embedded').run(query='q', documents=[Document(content='a')])))",
    ),
    Package(
        "pyterrier",
        "rankwise-pyterrier",
        "import pandas as pd; from rankwise_pyterrier import RankwiseLostInTheMiddle, RankwiseReranker; "
        "f = pd.DataFrame({'qid': ['q'] * 3, 'query': ['q'] * 3, 'docno': list('abc'), 'text': list('abc'), "
        "'rank': [0, 1, 2]}); "
        "assert RankwiseLostInTheMiddle().transform(f)['docno'].tolist() == ['a', 'c', 'b']; "
        "print(builds(lambda: RankwiseReranker('embedded').transform(f))); "
        "assert 'jnius' not in sys.modules, 'a JVM bridge was imported'",
    ),
)


def run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run ``cmd``; on failure raise with its output (the point of a check is to say what broke)."""
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done  # type: ignore[no-any-return]


def tree_bytes(path: Path) -> int:
    """Bytes of the files under ``path`` (what ``du -sb`` counts, without directories' own blocks)."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def site_packages(venv: Path) -> Path:
    found = list((venv / "lib").glob("python3*/site-packages"))
    if len(found) != 1:
        raise RuntimeError(f"expected one site-packages under {venv}/lib, found {found}")
    return found[0]


def fresh_venv(path: Path) -> Path:
    """An empty virtual environment: no pip either (this interpreter's pip installs into it with ``--python``)."""
    run([sys.executable, "-m", "venv", "--without-pip", str(path)])
    return path / "bin" / "python"


def pip(python: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-m", "pip", "--python", str(python), *args], env=env)


def build(package: Package, outdir: Path) -> Path:
    """The wheel of ``packages/<package.path>``, built without network access."""
    source = REPO / "packages" / package.path
    run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(outdir), str(source)])
    stem = package.distribution.replace("-", "_")
    wheels = sorted(outdir.glob(f"{stem}-*.whl"))
    if len(wheels) != 1:
        raise RuntimeError(f"expected one {stem} wheel in {outdir}, found {[w.name for w in wheels]}")
    return wheels[0]


def installed(python: Path, env: dict[str, str]) -> dict[str, str]:
    listing = json.loads(pip(python, "list", "--format", "json", env=env).stdout)
    return {row["name"].lower().replace("_", "-"): row["version"] for row in listing}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument("--only", nargs="*", default=None, help="package paths (core, langchain, ...)")
    parser.add_argument("--keep", type=Path, default=None, help="build and install under this folder, kept")
    args = parser.parse_args(argv)
    chosen = [p for p in PACKAGES if args.only is None or p.path in args.only]
    work = args.keep or Path(tempfile.mkdtemp(prefix="rankwise-packaging-"))
    work.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    results: dict[str, dict[str, object]] = {}
    failures: list[str] = []
    try:
        wheels = work / "wheels"
        core_wheel = build(PACKAGES[0], wheels)
        baseline = tree_bytes(site_packages(fresh_venv(work / "venv-empty").parent.parent))
        for package in chosen:
            start = time.perf_counter()
            try:
                wheel = core_wheel if package.path == "core" else build(package, wheels)
                python = fresh_venv(work / f"venv-{package.path}")
                files = [str(core_wheel)] if package.path == "core" else [str(core_wheel), str(wheel)]
                pip(python, "install", "-q", "-c", str(CONSTRAINTS), "--find-links", str(wheels), *files, env=env)
                smoke = run([str(python), "-c", BUILDS + package.smoke], env=env, cwd=work).stdout.strip()
                have = installed(python, env)
                heavy = sorted(n for n in have if n in HEAVY or n.startswith(HEAVY_PREFIXES))
                if heavy:
                    raise RuntimeError(f"{package.distribution} pulled heavy packages: {heavy}")
                size = tree_bytes(site_packages(python.parent.parent)) - baseline
                results[package.distribution] = {
                    "wheel": wheel.name,
                    "installed_mib": round(size / 2**20, 1),
                    "distributions": len(have),
                    "smoke": smoke,
                    "seconds": round(time.perf_counter() - start, 1),
                    "dependencies": dict(sorted(have.items())),
                }
                print(f"ok   {package.distribution:<22} {size / 2**20:8.1f} MiB  {len(have):3d} distributions")
            except RuntimeError as exc:
                failures.append(f"{package.distribution}: {exc}")
                print(f"FAIL {package.distribution}: {exc}", file=sys.stderr)
            finally:
                shutil.rmtree(work / f"venv-{package.path}", ignore_errors=True)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        report = {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "command": "benchmarks/install_sizes.py " + " ".join(sys.argv[1:]),
            "packages": results,
            "failures": failures,
        }
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"{len(results)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
