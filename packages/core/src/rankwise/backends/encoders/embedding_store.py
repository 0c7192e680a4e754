"""A persistent document-embedding cache: sqlite3, float32 blobs, keyed by model and text hash.

Integrity rests on sqlite's own guarantees — every write is a transaction and the journal is a
write-ahead log, so a crash or a full disk never leaves half a row — plus one check sqlite cannot
make: each vector carries its dimension and a CRC-32 of its bytes, so a blob of the wrong length,
or a same-length blob whose bytes changed, is never returned. Whatever goes wrong with the file, the
store only ever costs a recomputation:

- a file that is not a database, or whose pages are damaged (truncated, overwritten), is moved aside
  to ``embeddings.sqlite3.corrupt`` and started afresh, with a warning naming it;
- a bad vector is treated as missing (recomputed and rewritten), with a warning naming the file;
- a file (or directory) this process may not write is opened read-only (``mode=ro``) and used for
  reads; nothing is written on open;
- a failed write (disk full, read-only) is logged and the caller carries on.

Files of an older schema (no dimension or checksum column) are rebuilt: their rows were keyed by a
model fingerprint that no longer names anything.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sqlite3
import threading
import warnings
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import numpy as np
import numpy.typing as npt

Vector = npt.NDArray[np.float32]
FILE_NAME = "embeddings.sqlite3"
SCHEMA_VERSION = 2  # PRAGMA user_version; 0 (the first schema) had no dim/checksum columns
_CHUNK = 500  # texts per SELECT: under sqlite's bound-parameter limit
logger = logging.getLogger(__name__)
T = TypeVar("T")


def text_key(text: str) -> bytes:
    """The 16-byte key of a text (BLAKE2b): fixed size whatever the text's length."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


def checksum(blob: bytes) -> int:
    """CRC-32 of a vector's bytes (``zlib.crc32``)."""
    return zlib.crc32(blob)


class EmbeddingCacheWarning(UserWarning):
    """A cache file was damaged or could not be written: the affected vectors are recomputed."""


class EmbeddingStore:
    """Embeddings of texts under one model key, in ``directory/embeddings.sqlite3``, shared across processes.

    The model key names everything that changes a vector (the model's content fingerprint, max
    length, prefix, precision); vectors of different models never mix. Writes are transactions, so
    several processes may warm the same directory. ``read_only`` is True when the file could only be
    opened for reading. A damaged file or vector is never returned (see the module docstring).

    >>> import tempfile
    >>> store = EmbeddingStore(tempfile.mkdtemp(), model_key="demo")
    >>> store.put_many({"a cat": np.ones(3, dtype=np.float32)})
    >>> store.get_many(["a cat", "a dog"])["a cat"].tolist(), len(store)
    ([1.0, 1.0, 1.0], 1)
    """

    def __init__(self, directory: str | os.PathLike[str], *, model_key: str) -> None:
        self.path = Path(directory) / FILE_NAME
        self.model_key = model_key
        self.read_only = False
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._warned: set[str] = set()
        with self._lock:
            self._open()

    # -- opening -----------------------------------------------------------------------------------

    def _writable(self) -> bool:
        if self.path.exists():
            return os.access(self.path, os.W_OK) and os.access(self.path.parent, os.W_OK)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError:
            return False
        return os.access(self.path.parent, os.W_OK)

    def _open(self) -> None:
        """Open (or create) the file; a damaged one is moved aside; a read-only one is opened for reads."""
        if not self._writable():
            self._open_read_only()
            return
        try:
            self._db = self._connect_rw()
        except sqlite3.DatabaseError as exc:
            if not self._set_aside(exc):
                return
            try:
                self._db = self._connect_rw()
            except sqlite3.Error as again:
                self._give_up(again)

    def _connect_rw(self) -> sqlite3.Connection | None:
        db = sqlite3.connect(self.path, check_same_thread=False, timeout=30.0)
        try:
            (version,) = db.execute("PRAGMA user_version").fetchone()
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if version != SCHEMA_VERSION or "embeddings" not in tables:
                self._create_schema(db, rebuild="embeddings" in tables)
            else:
                db.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError as exc:  # locked, disk full, read-only file system: read what is there
            db.close()
            if "not a database" in str(exc) or "malformed" in str(exc):
                raise sqlite3.DatabaseError(str(exc)) from None
            self._note_write_failure("open", exc)
            self.read_only = True
            try:
                return self._connect_ro_or_raise()
            except sqlite3.Error as ro:
                self._give_up(ro)
                return None
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def _create_schema(self, db: sqlite3.Connection, *, rebuild: bool) -> None:
        with db:
            db.execute("PRAGMA journal_mode=WAL")
            if rebuild:
                self._warn_once(
                    "schema", f"{self.path}: an older cache schema; its embeddings are rebuilt (recomputed on use)"
                )
                db.execute("DROP TABLE embeddings")
            db.execute(
                "CREATE TABLE IF NOT EXISTS embeddings ("
                " model TEXT NOT NULL, text_hash BLOB NOT NULL, dim INTEGER NOT NULL, crc INTEGER NOT NULL,"
                " vector BLOB NOT NULL, PRIMARY KEY (model, text_hash)) WITHOUT ROWID"
            )
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _connect_ro_or_raise(self) -> sqlite3.Connection:
        uri = f"file:{quote(str(self.path.resolve()))}?mode=ro"
        for suffix in ("", "&immutable=1"):  # immutable: a WAL file in a directory nobody may write
            db = sqlite3.connect(uri + suffix, uri=True, check_same_thread=False, timeout=30.0)
            try:
                (version,) = db.execute("PRAGMA user_version").fetchone()
                if version != SCHEMA_VERSION:
                    db.close()
                    raise sqlite3.DatabaseError(f"schema version {version}, expected {SCHEMA_VERSION}")
                return db
            except sqlite3.OperationalError:
                db.close()
        raise sqlite3.OperationalError(f"unable to open {self.path} for reading")

    def _open_read_only(self) -> None:
        self.read_only = True
        if not self.path.exists():
            self._warn_once("ro-missing", f"{self.path}: cannot create the embedding cache; embeddings are not kept")
            return
        try:
            self._db = self._connect_ro_or_raise()
        except sqlite3.Error as exc:
            self._give_up(exc)

    def _set_aside(self, exc: BaseException) -> bool:
        """Move a damaged file to ``*.corrupt`` and start afresh; False when that is impossible."""
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None
        aside = self.path.with_name(self.path.name + ".corrupt")
        self._warn(f"{self.path}: damaged embedding cache ({exc}); moved to {aside.name}, embeddings are recomputed")
        try:
            os.replace(self.path, aside)
            for extra in ("-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.remove(str(self.path) + extra)
        except OSError as move:
            self._give_up(move)
            return False
        return True

    def _give_up(self, exc: BaseException) -> None:
        self._db = None
        self._warn_once("disabled", f"{self.path}: embedding cache unusable ({exc}); embeddings are not kept")

    # -- warnings ----------------------------------------------------------------------------------

    def _warn(self, message: str) -> None:
        warnings.warn(message, EmbeddingCacheWarning, stacklevel=4)
        logger.warning(message)

    def _warn_once(self, kind: str, message: str) -> None:
        if kind not in self._warned:
            self._warned.add(kind)
            self._warn(message)

    def _note_write_failure(self, what: str, exc: BaseException) -> None:
        message = f"{self.path}: could not {what} the embedding cache ({exc}); the rerank goes on without it"
        if what not in self._warned:
            self._warned.add(what)
            logger.warning(message)
        else:
            logger.debug(message)

    # -- reads and writes --------------------------------------------------------------------------

    def _guarded(self, read: Callable[[sqlite3.Connection], T], empty: T) -> T:
        """Run a read; a damaged file is set aside (or, read-only, dropped) and reads as empty."""
        if self._db is None:
            return empty
        try:
            return read(self._db)
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError) and "malformed" not in str(exc):
                self._note_write_failure("read", exc)  # locked or busy: this call goes without
                return empty
            if self.read_only:
                self._warn(f"{self.path}: damaged embedding cache ({exc}); not used, embeddings are recomputed")
                with contextlib.suppress(sqlite3.Error):
                    self._db.close()
                self._db = None
            elif self._set_aside(exc):
                self._open()
            return empty

    def __len__(self) -> int:
        def count(db: sqlite3.Connection) -> int:
            (n,) = db.execute("SELECT COUNT(*) FROM embeddings WHERE model = ?", (self.model_key,)).fetchone()
            return int(n)

        with self._lock:
            return self._guarded(count, 0)

    def get_many(self, texts: Sequence[str]) -> dict[str, Vector]:
        """The stored, intact vectors of those ``texts`` that have one."""
        keys = {text_key(t): t for t in texts}
        items = list(keys)

        def read(db: sqlite3.Connection) -> list[tuple[Any, ...]]:
            rows: list[tuple[Any, ...]] = []
            for start in range(0, len(items), _CHUNK):
                chunk = items[start : start + _CHUNK]
                rows += db.execute(
                    "SELECT text_hash, dim, crc, vector FROM embeddings"
                    f" WHERE model = ? AND text_hash IN ({','.join('?' * len(chunk))})",
                    (self.model_key, *chunk),
                ).fetchall()
            return rows

        with self._lock:
            no_rows: list[tuple[Any, ...]] = []
            rows = self._guarded(read, no_rows)
        found: dict[str, Vector] = {}
        bad = 0
        for key, dim, crc, blob in _rows(rows):
            text = keys.get(bytes(key))
            if text is None or not isinstance(blob, bytes) or len(blob) != 4 * dim or checksum(blob) != crc:
                bad += 1
                continue
            found[text] = np.frombuffer(blob, dtype=np.float32)
        if bad:
            self._warn(f"{self.path}: {bad} damaged embedding(s) (wrong length or checksum); recomputed")
        return found

    def put_many(self, vectors: Mapping[str, Vector]) -> None:
        """Store (or replace) the vectors of these texts; a failed write is logged, never raised."""
        rows = []
        for text, vector in vectors.items():
            blob = np.ascontiguousarray(vector, dtype=np.float32).tobytes()
            rows.append((self.model_key, text_key(text), len(blob) // 4, checksum(blob), blob))
        with self._lock:
            if self._db is None or self.read_only or not rows:
                return
            try:
                with self._db:
                    self._db.executemany("INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?, ?, ?)", rows)
            except sqlite3.DatabaseError as exc:
                if isinstance(exc, sqlite3.OperationalError) or "full" in str(exc):
                    self._note_write_failure("write", exc)
                elif self._set_aside(exc):
                    self._open()

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


def _rows(rows: list[tuple[Any, ...]]) -> Iterator[tuple[Any, int, int, Any]]:
    for key, dim, crc, blob in rows:
        yield key, int(dim), int(crc), bytes(blob) if isinstance(blob, (bytes, memoryview)) else blob
