"""Checks on what a user names as a local model, before any library gets to it: clear errors, quiet loading.

Every local-model backend (cross-encoders, bi-encoders, T5, LLMs) can call `check_model_source` first and
load inside `quiet_progress_bars`.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable, Iterator
from typing import Any


@contextlib.contextmanager
def quiet_progress_bars() -> Iterator[None]:
    """Turn off transformers' and huggingface_hub's progress bars ("Loading weights") for the duration.

    Only the bars that were on are turned off, and they are turned back on afterwards.

    >>> with quiet_progress_bars():
    ...     pass
    """
    restore: list[Callable[[], None]] = []
    for module, is_off, turn_off, turn_on in (
        ("transformers.utils.logging", "is_progress_bar_enabled", "disable_progress_bar", "enable_progress_bar"),
        ("huggingface_hub.utils", "are_progress_bars_disabled", "disable_progress_bars", "enable_progress_bars"),
    ):
        try:
            utils: Any = importlib.import_module(module)
        except ImportError:
            continue
        enabled = getattr(utils, is_off)()
        if module.startswith("huggingface_hub"):
            enabled = not enabled
        if enabled:
            getattr(utils, turn_off)()
            restore.append(getattr(utils, turn_on))
    try:
        yield
    finally:
        for turn_on_again in restore:
            turn_on_again()
