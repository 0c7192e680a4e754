"""Issue 10: no function in library code (packages/*/src) is longer than 60 lines."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGES = Path(__file__).resolve().parents[3]
LIMIT = 60


def long_functions(root: Path, limit: int = LIMIT) -> list[str]:
    """``path:line name (n lines)`` of every function or method of more than ``limit`` lines below ``root``."""
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno is not None:
                length = node.end_lineno - node.lineno + 1
                if length > limit:
                    found.append(f"{path.relative_to(root)}:{node.lineno} {node.name} ({length} lines)")
    return found


def test_no_library_function_is_over_60_lines() -> None:
    sources = [p / "src" for p in PACKAGES.iterdir() if (p / "src").is_dir()]
    assert len(sources) >= 4
    assert [f for src in sources for f in long_functions(src)] == []


def test_the_check_sees_a_long_function(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text("def f():\n" + "    x = 1\n" * 61)
    assert long_functions(tmp_path) == ["m.py:1 f (62 lines)"]
