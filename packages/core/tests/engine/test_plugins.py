"""Issue 10 item 6: the plugin API — register_kind, and third-party kinds found through entry points."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

import pytest

from rankwise import BackendConfig, Reranker, UnknownModelSpecError, register_kind
from rankwise.backends.registry import known_kinds, unregister_kind


class _Echo:
    default_normalization = "none"
    score_kind = "raw"

    def __init__(self, model: str) -> None:
        self.name = f"echo:{model}"

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        return [float(len(t)) for t in texts]


def test_register_kind_takes_a_factory_and_refuses_to_shadow() -> None:
    register_kind("echo-test", lambda model, config: _Echo(model), help="lengths")
    try:
        assert known_kinds()["echo-test"] == "lengths"
        assert [r.index for r in Reranker("echo-test:m").rerank("q", ["a", "abc"])] == [1, 0]
        with pytest.raises(ValueError, match="already registered"):
            register_kind("echo-test", "json:loads")
        with pytest.raises(ValueError, match="already registered"):
            register_kind("lexical", "json:loads")
    finally:
        unregister_kind("echo-test")
    with pytest.raises(UnknownModelSpecError):
        Reranker("echo-test:m")


@pytest.mark.parametrize("kind", ["", "a:b", "a+b", "a b"])
def test_bad_kind_names(kind: str) -> None:
    with pytest.raises(ValueError, match="backend kind"):
        register_kind(kind, "json:loads")


PLUGIN = {
    "pyproject.toml": """
        [build-system]
        requires = ["setuptools>=61"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "rankwise-plugin-demo"
        version = "0.0.1"

        [project.entry-points."rankwise.backends"]
        demo-length = "rankwise_plugin_demo:KIND"
    """,
    "rankwise_plugin_demo/__init__.py": """
        from rankwise.backends.registry import BackendKind

        class LengthBackend:
            default_normalization = "none"
            name = "demo-length"

            def score(self, query, texts):
                return [float(len(t)) for t in texts]

        KIND = BackendKind(lambda model, config: LengthBackend(), needs_model=False, help="text length (demo plugin)")
    """,
}


@pytest.mark.slow
def test_an_installed_plugin_is_usable_by_spec(tmp_path: Path) -> None:
    for name, text in PLUGIN.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    pip = [sys.executable, "-m", "pip", "-q"]
    subprocess.run([*pip, "install", "--no-deps", "--no-build-isolation", str(tmp_path)], check=True, timeout=300)
    try:
        code = (
            "from rankwise import Reranker; from rankwise.backends.registry import known_kinds; "
            "print(known_kinds()['demo-length']); "
            "print([r.index for r in Reranker('demo-length').rerank('q', ['a', 'abc', 'ab'])])"
        )
        out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=120)
        assert out.stdout.splitlines() == ["text length (demo plugin)", "[1, 2, 0]"]
    finally:
        subprocess.run([*pip, "uninstall", "-y", "rankwise-plugin-demo"], check=True, timeout=300)


def test_backend_config_is_public() -> None:
    assert BackendConfig(batch_size=4).batch_size == 4
