"""Scoring backends. A backend maps (query, texts) to one raw score per text; nothing more."""

from rankwise.backends.base import Backend, BackendConfig
from rankwise.backends.registry import create_backend, known_kinds, register_kind

__all__ = ["Backend", "BackendConfig", "create_backend", "known_kinds", "register_kind"]
