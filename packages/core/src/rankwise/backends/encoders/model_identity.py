"""A short, stable name for a model's exact weights, for keys of on-disk caches.

What determines a model's numbers is the content of its files, not their names, sizes or
times: a local directory is named by a SHA-256 of every file's bytes, a hub id by the commit
of the snapshot that loading it resolved to (read offline from the huggingface_hub cache:
``refs/<revision>`` → commit). Hashing a file is memoised per (path, size, mtime, ctime,
inode): any write or ``os.utime`` moves the ctime, which no user call can set back, so a
memoised hash is never that of older content.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
import threading
from pathlib import Path

_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_FILE_HASHES: dict[tuple[str, int, int, int, int], str] = {}
_FILE_HASHES_LOCK = threading.Lock()


def model_fingerprint(
    model: str, *extra: object, revision: str | None = None, hub_cache: str | os.PathLike[str] | None = None
) -> str:
    """Hash of what determines a model's numbers: its files' content (or hub commit) and ``extra`` settings.

    A local directory is named by its resolved path and the SHA-256 of each file's content (model,
    tokenizer and config files alike), so replacing the weights — even with files of the same sizes and
    modification times — changes the fingerprint; relative and absolute spellings share it. A hub id is
    named by the commit its ``revision`` (default ``main``) resolves to in the local huggingface_hub cache,
    so a moved ``main`` changes it; ``revision`` itself is part of the key. ``hub_cache`` is the hub cache
    the model was loaded from when not the default (sentence-transformers' ``cache_folder``).

    >>> model_fingerprint("org/model") == model_fingerprint("org/model")
    True
    >>> model_fingerprint("org/model", 256) == model_fingerprint("org/model", 512)
    False
    >>> model_fingerprint("org/model", revision="v2") == model_fingerprint("org/model")
    False
    """
    path = Path(model)
    local = path.is_dir()
    name = str(path.resolve()) if local else model
    digest = hashlib.sha256("|".join([name, *map(repr, extra)]).encode())
    if revision is not None:
        digest.update(f"|revision={revision}".encode())
    if local:
        root = path.resolve()
        for file in sorted(p for p in root.rglob("*") if p.is_file()):
            digest.update(f"|{file.relative_to(root)}:{file_sha256(file)}".encode())
    else:
        digest.update(f"|commit={hub_commit(model, revision, cache=hub_cache)}".encode())
    return digest.hexdigest()[:20]


def file_sha256(file: Path) -> str:
    """SHA-256 of a file's content, memoised per (path, size, mtime_ns, ctime_ns, inode).

    The memo lives in the process and in ``$RANKWISE_CACHE_DIR/file-hashes.json`` (default
    ``~/.cache/rankwise``), so a new process does not re-read a model's weights (SHA-256 of the 91 MB
    MiniLM took 0.17 s here); the ctime in the key is what makes a memoised hash safe to reuse.
    """
    stat = file.stat()
    key = (str(file), stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)
    with _FILE_HASHES_LOCK:
        _load_disk_memo()
        known = _FILE_HASHES.get(key)
    if known is not None:
        return known
    digest = hashlib.sha256()
    with open(file, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    value = digest.hexdigest()
    with _FILE_HASHES_LOCK:
        _FILE_HASHES[key] = value
        if stat.st_size >= _DISK_MEMO_MIN_BYTES:
            _save_disk_memo()
    return value


_DISK_MEMO_MIN_BYTES = 1 << 20  # small files hash faster than the memo file is rewritten
_disk_memo_loaded = False


def _disk_memo_path() -> Path:
    root = os.environ.get("RANKWISE_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "rankwise")
    return Path(root) / "file-hashes.json"


def _load_disk_memo() -> None:
    global _disk_memo_loaded
    if _disk_memo_loaded:
        return
    _disk_memo_loaded = True
    try:
        rows = json.loads(_disk_memo_path().read_text(encoding="utf-8"))
        for path, size, mtime, ctime, ino, value in rows:
            _FILE_HASHES.setdefault((str(path), int(size), int(mtime), int(ctime), int(ino)), str(value))
    except (OSError, ValueError, TypeError):  # absent, unreadable or damaged: hashes are recomputed
        pass


def _save_disk_memo() -> None:
    """Rewrite the memo file atomically (best effort: a cache directory we cannot write costs only time)."""
    target = _disk_memo_path()
    rows = [[*key, value] for key, value in _FILE_HASHES.items()][-4096:]
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".file-hashes-", suffix=".tmp")
    except OSError:
        return
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(rows, f)
        os.replace(tmp, target)
    except OSError:
        with contextlib.suppress(OSError):
            os.remove(tmp)


def forget_file_hashes() -> None:
    """Drop the hashes memoised in this process; the next one re-reads the disk memo, as a new process does."""
    global _disk_memo_loaded
    with _FILE_HASHES_LOCK:
        _FILE_HASHES.clear()
        _disk_memo_loaded = False


def hub_cache_dir() -> Path:
    """huggingface_hub's cache, read from the environment at call time: ``HF_HUB_CACHE``, ``HF_HOME/hub``."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]) / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(xdg) / "huggingface" / "hub"


def hub_commit(repo_id: str, revision: str | None = None, *, cache: str | os.PathLike[str] | None = None) -> str:
    """The commit ``revision`` (default ``main``) of a hub model resolves to in the local cache, offline.

    A 40-hex revision is a commit already. ``""`` when the model is not in the cache (then only its id and
    revision name it; loading it downloads it, and the next fingerprint names the commit).

    >>> hub_commit("org/model", "0123456789abcdef0123456789abcdef01234567")
    '0123456789abcdef0123456789abcdef01234567'
    """
    wanted = revision or "main"
    if _COMMIT.match(wanted):
        return wanted
    ref = (
        (Path(cache) if cache is not None else hub_cache_dir())
        / f"models--{repo_id.replace('/', '--')}"
        / "refs"
        / wanted
    )
    try:
        return ref.read_text(encoding="utf-8").strip()
    except OSError:
        return ""
