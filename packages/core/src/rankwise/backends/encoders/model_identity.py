"""A short, stable name for a model's exact weights, for keys of on-disk caches."""

from __future__ import annotations

import hashlib
from pathlib import Path


def model_fingerprint(model: str, *extra: object) -> str:
    """Hash of a model's path or hub id, the size and mtime of its files, and ``extra`` settings.

    Rebuilding a model in place changes the fingerprint, so stale cache entries are never read. A local
    directory is named by its resolved path: relative and absolute spellings share cache entries.

    >>> model_fingerprint("org/model") == model_fingerprint("org/model")
    True
    >>> model_fingerprint("org/model", 256) == model_fingerprint("org/model", 512)
    False
    """
    path = Path(model)
    local = path.is_dir()
    name = str(path.resolve()) if local else model
    digest = hashlib.sha256("|".join([name, *map(repr, extra)]).encode())
    if local:
        digest.update(name.encode())
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            stat = file.stat()
            digest.update(f"|{file.relative_to(path)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:20]
