"""Checks on what a user names as a local model, before any library gets to it: clear errors, quiet loading.

Every local-model backend (cross-encoders, bi-encoders, T5, LLMs) can call `resolve_model_source` first
(a path that does not exist, a hub id that cannot be reached), `check_device` before building on a device,
and load inside `quiet_progress_bars`. Each check answers in well under a second, where transformers and
huggingface_hub take 8 s ("Repo id must use alphanumeric chars") or 26 s of retries (a raw ``OSError``).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from rankwise.errors import RankwiseError

OFFLINE_OPTIONS = (
    "use 'embedded' (bundled, no download), a local directory holding a saved model "
    "({kind}:/path/to/model), or a model already in the Hugging Face cache with HF_HUB_OFFLINE=1"
)
HUB_PROBE_TIMEOUT_S = 3.0


class ModelNotFoundError(RankwiseError, FileNotFoundError):
    """A model named by a local path whose directory does not exist."""


class HubUnreachableError(RankwiseError, ConnectionError):
    """A hub model that is not in the local cache while the hub is offline or unreachable."""


class DeviceUnavailableError(RankwiseError, ValueError):
    """A ``device`` that this torch build cannot use (``cuda`` on a CPU-only torch, say)."""


@dataclass(frozen=True)
class ModelSource:
    """Where a model comes from: a local directory, or a hub id (``local_files_only`` when the hub is unreachable).

    >>> ModelSource("org/model", local=False, local_files_only=True).load_kwargs()
    {'local_files_only': True}
    """

    name: str
    local: bool
    local_files_only: bool = False

    def load_kwargs(self) -> dict[str, Any]:
        """Extra ``from_pretrained`` keyword arguments this source needs."""
        return {"local_files_only": True} if self.local_files_only else {}


def looks_like_path(spec: str) -> bool:
    """Whether ``spec`` names a filesystem path rather than a hub id (``org/name`` has one slash, no prefix).

    >>> [looks_like_path(s) for s in ("/models/x", "./x", "../x", "~/x", "a/b/c", "org/name", "name")]
    [True, True, True, True, True, False, False]
    """
    if spec.startswith(("/", "./", "../", "~", ".\\", "..\\")) or spec in (".", ".."):
        return True
    if os.sep != "/" and os.sep in spec:
        return True
    return spec.count("/") > 1


def _env_true(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def hub_offline() -> bool:
    """``HF_HUB_OFFLINE`` (or ``TRANSFORMERS_OFFLINE``) set, read now rather than at import."""
    return _env_true("HF_HUB_OFFLINE") or _env_true("TRANSFORMERS_OFFLINE")


def in_hub_cache(repo_id: str, revision: str | None = None) -> bool:
    """Whether the local huggingface_hub cache holds a snapshot of ``repo_id`` at ``revision`` (``main``)."""
    from rankwise.backends.encoders.model_identity import hub_cache_dir, hub_commit

    commit = hub_commit(repo_id, revision)
    if not commit:
        return False
    snapshot = hub_cache_dir() / f"models--{repo_id.replace('/', '--')}" / "snapshots" / commit
    return (snapshot / "config.json").exists()


def hub_reachable(timeout: float = HUB_PROBE_TIMEOUT_S) -> bool:
    """Whether a TCP connection to the hub endpoint (``HF_ENDPOINT``, default huggingface.co) opens in time."""
    endpoint = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    host = endpoint.hostname or "huggingface.co"
    port = endpoint.port or (443 if endpoint.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except Exception:  # refused, timed out, no DNS, or sockets blocked (tests)
        return False


def resolve_model_source(spec: str, *, kind: str = "cross-encoder", revision: str | None = None) -> ModelSource:
    """Check what ``spec`` names before loading it; raise a clear error within seconds when it cannot load.

    - a local directory: used as is (``~`` expanded);
    - something that looks like a path (`looks_like_path`) but is no directory: `ModelNotFoundError`
      ("no such directory: …");
    - a hub id in the local cache: loaded from it (without contacting the hub when it is unreachable);
    - a hub id not in the cache while ``HF_HUB_OFFLINE`` is set or the hub is unreachable (a 3 s TCP
      probe): `HubUnreachableError`, naming the offline options.

    >>> import tempfile
    >>> resolve_model_source(tempfile.gettempdir()).local
    True
    >>> resolve_model_source("/no/such/model")
    Traceback (most recent call last):
    ...
    rankwise.backends.encoders.model_source.ModelNotFoundError: no such directory: /no/such/model (cross-encoder:/no/such/model); give a directory holding a saved model (save_pretrained) or a hub id such as 'org/name'
    """
    expanded = os.path.expanduser(spec)
    if Path(expanded).is_dir():
        return ModelSource(expanded, local=True)
    if looks_like_path(spec):
        raise ModelNotFoundError(
            f"no such directory: {expanded} ({kind}:{spec}); give a directory holding a saved model "
            "(save_pretrained) or a hub id such as 'org/name'"
        )
    cached = in_hub_cache(spec, revision)
    if hub_offline():
        if cached:
            return ModelSource(spec, local=False, local_files_only=True)
        raise HubUnreachableError(
            f"{kind}:{spec} is not in the local Hugging Face cache and the hub is off (HF_HUB_OFFLINE is set): "
            + OFFLINE_OPTIONS.format(kind=kind)
        )
    if hub_reachable():
        return ModelSource(spec, local=False)
    if cached:
        return ModelSource(spec, local=False, local_files_only=True)
    raise HubUnreachableError(
        f"{kind}:{spec} is not in the local Hugging Face cache and the hub "
        f"({os.environ.get('HF_ENDPOINT') or 'https://huggingface.co'}) is unreachable: "
        + OFFLINE_OPTIONS.format(kind=kind)
    )


def check_device(device: str | None) -> None:
    """Raise `DeviceUnavailableError` when ``device`` names an accelerator this torch cannot use.

    >>> check_device("cpu"); check_device(None)
    """
    if device is None:
        return
    name = str(device).split(":")[0].lower()
    if name == "cpu":
        return
    import torch

    if name == "cuda" and not torch.cuda.is_available():
        build = (
            "a CPU-only build" if torch.version.cuda is None else f"CUDA {torch.version.cuda}, but no GPU is visible"
        )
        raise DeviceUnavailableError(
            f"device={device!r}, but this torch ({torch.__version__}) is {build}: use device='cpu' (or leave it "
            "unset), or install a CUDA build of torch on a machine with a GPU"
        )
    if name == "mps" and not torch.backends.mps.is_available():
        raise DeviceUnavailableError(f"device={device!r}, but MPS is not available here: use device='cpu'")


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
