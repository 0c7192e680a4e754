"""An output directory that appears whole or not at all: `staged_directory`.

Everything is written into a hidden temporary directory beside the target (same file system, so the final
``os.rename`` is atomic); on success it is renamed to the target, on any exception — a failure, Ctrl-C, a
budget spent before anything was trained — it is removed, and the target is untouched.

>>> import tempfile, pathlib
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> with staged_directory(root / "model") as work:
...     _ = (work / "weights.bin").write_text("w")
>>> sorted(p.name for p in root.iterdir()), (root / "model" / "weights.bin").read_text()
(['model'], 'w')
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def check_target(target: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """``target`` as a path, after checking it can be written: a `FileExistsError` if it exists (unless
    ``overwrite`` and it is a directory), a `NotADirectoryError` if it is a file."""
    path = Path(target)
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(f"--out {path} is a file: give a directory to create")
    if path.exists() and any(path.iterdir()) and not overwrite:
        raise FileExistsError(f"--out {path} already exists and is not empty: choose another directory or --overwrite")
    return path


@contextmanager
def staged_directory(target: str | os.PathLike[str], *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a fresh directory beside ``target``; rename it to ``target`` when the block ends without error.

    With ``overwrite``, an existing ``target`` is replaced (moved aside, then deleted, after the new one is
    complete).
    """
    path = check_target(target, overwrite=overwrite)
    path.parent.mkdir(parents=True, exist_ok=True)
    work = path.with_name(f".{path.name}.partial-{uuid.uuid4().hex[:8]}")
    work.mkdir()  # the default permissions (mkdtemp would make it private to its owner)
    try:
        yield work
        check_target(path, overwrite=overwrite)  # another process may have created it meanwhile
        old = None
        if path.exists():
            old = path.with_name(f".{path.name}.old-{uuid.uuid4().hex[:8]}")
            os.rename(path, old)
        os.rename(work, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
