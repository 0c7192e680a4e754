"""Lazy imports of optional dependencies, with an error that names the pip extra."""

from __future__ import annotations

import importlib
from types import ModuleType

from rankwise.errors import MissingDependencyError


def require(module: str, *, extra: str, purpose: str) -> ModuleType:
    """Import ``module`` or raise an error telling the user which extra installs it.

    >>> require("json", extra="none", purpose="parsing").__name__
    'json'
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"{purpose} needs the Python package {module.split('.')[0]!r}, which is not installed: "
            f"pip install 'rankwise[{extra}]'"
        ) from exc
