"""A persistent document-embedding cache: sqlite3, float32 blobs, keyed by model and text hash."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

Vector = npt.NDArray[np.float32]
FILE_NAME = "embeddings.sqlite3"


def text_key(text: str) -> bytes:
    """The 16-byte key of a text (BLAKE2b): fixed size whatever the text's length."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


class EmbeddingStore:
    """Embeddings of texts under one model key, in ``directory/embeddings.sqlite3``, shared across processes.

    The model key names everything that changes a vector (model path or id, max
    length, prefix); vectors of different models never mix. Writes are
    transactions, so several processes may warm the same directory.

    >>> import tempfile
    >>> store = EmbeddingStore(tempfile.mkdtemp(), model_key="demo")
    >>> store.put_many({"a cat": np.ones(3, dtype=np.float32)})
    >>> store.get_many(["a cat", "a dog"])["a cat"].tolist(), len(store)
    ([1.0, 1.0, 1.0], 1)
    """

    def __init__(self, directory: str | os.PathLike[str], *, model_key: str) -> None:
        self.path = Path(directory) / FILE_NAME
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.model_key = model_key
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30.0)
        with self._lock, self._db:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS embeddings ("
                " model TEXT NOT NULL, text_hash BLOB NOT NULL, vector BLOB NOT NULL,"
                " PRIMARY KEY (model, text_hash)) WITHOUT ROWID"
            )

    def __len__(self) -> int:
        with self._lock:
            (count,) = self._db.execute("SELECT COUNT(*) FROM embeddings WHERE model = ?", (self.model_key,)).fetchone()
        return int(count)

    def get_many(self, texts: Sequence[str]) -> dict[str, Vector]:
        """The stored vectors of those ``texts`` that have one."""
        keys = {text_key(t): t for t in texts}
        found: dict[str, Vector] = {}
        items = list(keys)
        with self._lock:
            for start in range(0, len(items), 500):  # stay under sqlite's bound-parameter limit
                chunk = items[start : start + 500]
                rows = self._db.execute(
                    f"SELECT text_hash, vector FROM embeddings WHERE model = ? AND text_hash IN ({','.join('?' * len(chunk))})",
                    (self.model_key, *chunk),
                ).fetchall()
                for key, blob in rows:
                    found[keys[bytes(key)]] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put_many(self, vectors: Mapping[str, Vector]) -> None:
        """Store (or replace) the vectors of these texts."""
        rows = [
            (self.model_key, text_key(t), np.ascontiguousarray(v, dtype=np.float32).tobytes())
            for t, v in vectors.items()
        ]
        with self._lock, self._db:
            self._db.executemany("INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?)", rows)

    def close(self) -> None:
        with self._lock:
            self._db.close()
