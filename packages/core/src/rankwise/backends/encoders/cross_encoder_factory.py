"""``cross-encoder:<hub id or path>``: builds the torch or the ONNX runtime that the options ask for.

With no ``backend``/``precision`` options the CPU default is ONNX fp32; when that mode cannot run the
model (its export or the export's self-check fails, or the ONNX cache cannot be written), the default
falls back to torch fp32 — which gives the same scores — with one logged warning naming the cause, and
records an export failure in the ONNX cache (``export-failed.json`` in the entry keyed like the export),
so later processes go straight to torch. An explicit ``backend="onnx"`` raises `ModeUnavailableError`.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from rankwise.backends.base import Backend, BackendConfig
from rankwise.backends.encoders.cross_encoder_modes import ModeUnavailableError, resolve_mode

logger = logging.getLogger("rankwise")
ONNX_ONLY_OPTIONS = ("onnx_cache_dir", "int8_format")  # options the torch runtime does not take
_WARNED: set[str] = set()
_WARNED_LOCK = threading.Lock()


def cross_encoder_from_spec(model: str, config: BackendConfig) -> Backend:
    """The registry's factory: `CrossEncoderBackend` for torch modes, `OnnxCrossEncoderBackend` for ONNX ones.

    >>> from rankwise.backends.registry import known_kinds
    >>> "cross-encoder" in known_kinds()
    True
    """
    options = dict(config.options)
    explicit = options.get("backend") is not None or options.get("precision") not in (None, "auto")
    backend, precision = resolve_mode(options, config.device)
    options.pop("backend", None)
    options["precision"] = precision
    if backend == "onnx":
        if explicit:
            return _onnx(model, config, options)
        from rankwise.backends.encoders.onnx_export import entry_dir, record_failure, recorded_failure

        # keyed like the ONNX backend's own entry (which expands "~" before fingerprinting)
        directory = entry_dir(
            os.path.expanduser(model), options.get("onnx_cache_dir"), revision=options.get("revision")
        )
        cause = recorded_failure(directory)
        if cause is not None:
            _warn_once(model, f"{cause} (recorded in {directory}; delete that directory to try the export again)")
        else:
            try:
                return _onnx(model, config, options)
            except ModeUnavailableError as exc:
                from rankwise.backends.encoders.onnx_export import OnnxCacheError

                if not isinstance(exc, OnnxCacheError):
                    record_failure(directory, exc)
                _warn_once(model, str(exc))
    return _torch(model, config, options)


def _warn_once(model: str, cause: str) -> None:
    with _WARNED_LOCK:
        if model in _WARNED:
            return
        _WARNED.add(model)
    logger.warning(
        "cross-encoder:%s runs on torch fp32 (same scores, slower): the ONNX default failed: %s", model, cause
    )


def _onnx(model: str, config: BackendConfig, options: dict[str, Any]) -> Backend:
    from rankwise.backends.encoders.onnx_cross_encoder import OnnxCrossEncoderBackend

    return OnnxCrossEncoderBackend(
        model, batch_size=_forward_batch(config.batch_size), max_length=config.max_length, **options
    )


def _torch(model: str, config: BackendConfig, options: dict[str, Any]) -> Backend:
    from rankwise.backends.encoders.cross_encoder import CrossEncoderBackend

    torch_options = {k: v for k, v in options.items() if k not in ONNX_ONLY_OPTIONS}
    return CrossEncoderBackend(
        model,
        device=config.device,
        batch_size=_forward_batch(config.batch_size),
        max_length=config.max_length,
        **torch_options,
    )


def _forward_batch(batch_size: int | None) -> int:
    """Pairs per forward pass: 16 unless the caller chose (32 was slower than 16 on CPUs, measured)."""
    return 16 if batch_size is None else batch_size
