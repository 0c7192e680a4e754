"""``cross-encoder:<hub id or path>``: builds the torch or the ONNX runtime that the options ask for."""

from __future__ import annotations

from rankwise.backends.base import Backend, BackendConfig
from rankwise.backends.encoders.cross_encoder_modes import resolve_mode


def cross_encoder_from_spec(model: str, config: BackendConfig) -> Backend:
    """The registry's factory: `CrossEncoderBackend` for torch modes, `OnnxCrossEncoderBackend` for ONNX ones.

    >>> from rankwise.backends.registry import known_kinds
    >>> "cross-encoder" in known_kinds()
    True
    """
    options = dict(config.options)
    backend, precision = resolve_mode(options, config.device)
    options.pop("backend", None)
    options["precision"] = precision
    if backend == "onnx":
        from rankwise.backends.encoders.onnx_cross_encoder import OnnxCrossEncoderBackend

        return OnnxCrossEncoderBackend(
            model, batch_size=_forward_batch(config.batch_size), max_length=config.max_length, **options
        )
    from rankwise.backends.encoders.cross_encoder import CrossEncoderBackend

    return CrossEncoderBackend(
        model,
        device=config.device,
        batch_size=_forward_batch(config.batch_size),
        max_length=config.max_length,
        **options,
    )


def _forward_batch(batch_size: int) -> int:
    """Pairs per forward pass: the Reranker's default of 32 is slower than 16 on CPUs (measured)."""
    return 16 if batch_size == 32 else batch_size
