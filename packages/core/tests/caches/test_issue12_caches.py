"""Issue 12, items 1-3 (the bi-encoder's caches) and 12 (cutting by tokens): caches never return a wrong score.

Fault injection runs where the machine allows it (root for a small tmpfs and a read-only bind mount) and
skips with the reason elsewhere.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
from bi_encoder_support import build_tiny_bi_encoder

from rankwise.backends.encoders.bi_encoder import WHOLE_CHARS_PER_TOKEN, BiEncoderBackend
from rankwise.backends.encoders.embedding_store import (
    FILE_NAME,
    SCHEMA_VERSION,
    EmbeddingCacheWarning,
    EmbeddingStore,
    text_key,
)
from rankwise.backends.encoders.model_identity import forget_file_hashes, model_fingerprint

DOCS = ["cats eat fish", "dogs bark at the car", "the river is blue", "birds fly over trees"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    root = tmp_path_factory.mktemp("tiny-bi-caches")
    return build_tiny_bi_encoder(root / "a", seed=1), build_tiny_bi_encoder(root / "b", seed=2)


def reference(model: str, texts: Sequence[str]) -> np.ndarray:
    return BiEncoderBackend(model).embed_documents(texts)


# -- item 1: the in-memory LRU --------------------------------------------------------------------------


def test_item1_full_lru_does_not_crash_when_a_cached_text_is_evicted_by_the_same_call(tiny: tuple[str, str]) -> None:
    backend = BiEncoderBackend(tiny[0], embedding_cache_size=2)
    backend.warm(["cats eat fish", "dogs bark at the car"])
    texts = ["cats eat fish", "the river is blue", "birds fly over trees"]  # 1 cached + 2 new > capacity
    got = backend.embed_documents(texts)
    np.testing.assert_allclose(got, reference(tiny[0], texts), atol=1e-6)
    assert len(backend._cache) == 2
    assert backend.score("cats", ["cats eat fish", "a new one", "another new one"])  # and through score


def test_item1_reads_refresh_lru_entries(tiny: tuple[str, str]) -> None:
    backend = BiEncoderBackend(tiny[0], embedding_cache_size=2)
    backend.warm(["cats eat fish"])
    backend.warm(["dogs bark at the car"])
    backend.embed_documents(["cats eat fish"])  # a read: now the most recently used
    backend.warm(["the river is blue"])
    assert list(backend._cache) == ["cats eat fish", "the river is blue"]


# -- item 2: keys name what determines the numbers --------------------------------------------------------


def test_item2a_same_sizes_and_mtimes_but_new_content_change_the_key(tiny: tuple[str, str], tmp_path: Path) -> None:
    model = tmp_path / "model"
    shutil.copytree(tiny[0], model)
    before = model_fingerprint(str(model), 64)
    weights = model / "model.safetensors"
    other = Path(tiny[1]) / "model.safetensors"
    assert weights.stat().st_size == other.stat().st_size
    stat = weights.stat()
    weights.write_bytes(other.read_bytes())
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert (weights.stat().st_size, weights.stat().st_mtime_ns) == (stat.st_size, stat.st_mtime_ns)
    assert model_fingerprint(str(model), 64) != before  # in this process (its hash memo) ...
    forget_file_hashes()
    assert model_fingerprint(str(model), 64) != before  # ... and in a new one


def test_item2a_replaced_local_model_never_mixes_old_document_vectors(tiny: tuple[str, str], tmp_path: Path) -> None:
    model, cache = tmp_path / "model", tmp_path / "cache"
    shutil.copytree(tiny[0], model)
    BiEncoderBackend(str(model), embedding_cache_dir=cache).warm(DOCS)
    for name in ("model.safetensors", "config.json"):  # the new model, same sizes and times
        target = model / name
        stat = target.stat()
        target.write_bytes((Path(tiny[1]) / name).read_bytes())
        os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    forget_file_hashes()  # what a new process sees
    replaced = BiEncoderBackend(str(model), embedding_cache_dir=cache)
    np.testing.assert_allclose(replaced.embed_documents(DOCS), reference(tiny[1], DOCS), atol=1e-6)


def fake_hub(cache: Path, repo: str, snapshots: dict[str, str], refs: dict[str, str]) -> None:
    """A huggingface_hub cache layout: ``models--org--name/{refs/<ref>, snapshots/<commit>/...}``."""
    root = cache / f"models--{repo.replace('/', '--')}"
    for commit, source in snapshots.items():
        shutil.copytree(source, root / "snapshots" / commit)
    (root / "refs").mkdir(parents=True, exist_ok=True)
    for ref, commit in refs.items():
        (root / "refs" / ref).write_text(commit)


COMMIT_A, COMMIT_B = "a" * 40, "b" * 40


def test_item2b_hub_main_moved_to_a_new_commit_changes_the_key(
    tiny: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = tmp_path / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(hub))
    fake_hub(hub, "org/tiny", {COMMIT_A: tiny[0], COMMIT_B: tiny[1]}, {"main": COMMIT_A})
    before = model_fingerprint("org/tiny", 64)
    cache = tmp_path / "cache"
    first = BiEncoderBackend("org/tiny", embedding_cache_dir=cache, cache_folder=str(hub))
    first.warm(DOCS)
    np.testing.assert_allclose(first.embed_documents(DOCS), reference(tiny[0], DOCS), atol=1e-6)
    (hub / "models--org--tiny" / "refs" / "main").write_text(COMMIT_B)  # main moved
    assert model_fingerprint("org/tiny", 64) != before
    moved = BiEncoderBackend("org/tiny", embedding_cache_dir=cache, cache_folder=str(hub))
    assert moved._store is not None
    assert moved._store.get_many(DOCS) == {}
    np.testing.assert_allclose(moved.embed_documents(DOCS), reference(tiny[1], DOCS), atol=1e-6)


def test_item2c_revision_is_part_of_the_key(
    tiny: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = tmp_path / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(hub))
    fake_hub(hub, "org/tiny", {COMMIT_A: tiny[0], COMMIT_B: tiny[1]}, {"main": COMMIT_A, "v2": COMMIT_B})
    assert model_fingerprint("org/tiny", revision="v2") != model_fingerprint("org/tiny")
    assert model_fingerprint("org/tiny", revision=COMMIT_A) != model_fingerprint("org/tiny", revision=COMMIT_B)
    cache = tmp_path / "cache"
    BiEncoderBackend("org/tiny", embedding_cache_dir=cache, cache_folder=str(hub)).warm(DOCS)
    pinned = BiEncoderBackend("org/tiny", embedding_cache_dir=cache, cache_folder=str(hub), revision="v2")
    assert pinned._store is not None
    assert pinned._store.get_many(DOCS) == {}
    np.testing.assert_allclose(pinned.embed_documents(DOCS), reference(tiny[1], DOCS), atol=1e-6)


# -- item 3: faults in the sqlite store ------------------------------------------------------------------


def warmed(tiny: tuple[str, str], cache: Path, texts: Sequence[str] = DOCS) -> BiEncoderBackend:
    backend = BiEncoderBackend(tiny[0], embedding_cache_dir=cache)
    backend.warm(texts)
    assert backend._store is not None
    backend._store.close()
    return backend


def test_item3a_garbage_file_is_set_aside_with_a_warning_naming_it(tiny: tuple[str, str], tmp_path: Path) -> None:
    (tmp_path / FILE_NAME).write_bytes(os.urandom(8192))
    with pytest.warns(EmbeddingCacheWarning, match=FILE_NAME):
        backend = BiEncoderBackend(tiny[0], embedding_cache_dir=tmp_path)
    np.testing.assert_allclose(backend.embed_documents(DOCS), reference(tiny[0], DOCS), atol=1e-6)
    assert backend._store is not None
    assert len(backend._store) == len(DOCS)
    assert (tmp_path / (FILE_NAME + ".corrupt")).exists()


def test_item3a_truncated_file_is_recomputed_with_a_warning(tiny: tuple[str, str], tmp_path: Path) -> None:
    texts = [f"cats eat fish {i}" for i in range(400)]
    warmed(tiny, tmp_path, texts)
    path = tmp_path / FILE_NAME
    assert not Path(str(path) + "-wal").exists()  # checkpointed on close: the file holds every page
    with open(path, "r+b") as f:
        f.truncate(path.stat().st_size // 3)

    def open_and_read() -> np.ndarray:  # detected on open or on the first read, whichever meets a bad page
        return BiEncoderBackend(tiny[0], embedding_cache_dir=tmp_path).embed_documents(texts)

    with pytest.warns(EmbeddingCacheWarning, match=FILE_NAME):
        got = open_and_read()
    np.testing.assert_allclose(got, reference(tiny[0], texts), atol=1e-6)


def corrupt_vector(path: Path, text: str, blob: bytes) -> None:
    db = sqlite3.connect(path)
    with db:
        assert db.execute("UPDATE embeddings SET vector = ? WHERE text_hash = ?", (blob, text_key(text))).rowcount == 1
    db.close()


def test_item3b_vector_of_the_wrong_length_is_recomputed(tiny: tuple[str, str], tmp_path: Path) -> None:
    warmed(tiny, tmp_path)
    corrupt_vector(tmp_path / FILE_NAME, DOCS[1], b"\x00" * 12)
    backend = BiEncoderBackend(tiny[0], embedding_cache_dir=tmp_path)
    with pytest.warns(EmbeddingCacheWarning, match=FILE_NAME):
        got = backend.embed_documents(DOCS)
    np.testing.assert_allclose(got, reference(tiny[0], DOCS), atol=1e-6)
    again = BiEncoderBackend(tiny[0], embedding_cache_dir=tmp_path)  # the recomputed vector was written back
    assert again._store is not None
    assert set(again._store.get_many(DOCS)) == set(DOCS)


def test_item3c_random_same_length_blob_fails_its_checksum_and_is_recomputed(
    tiny: tuple[str, str], tmp_path: Path
) -> None:
    backend = warmed(tiny, tmp_path)
    length = backend.embed_documents(DOCS[:1]).nbytes
    corrupt_vector(tmp_path / FILE_NAME, DOCS[0], np.random.default_rng(0).random(length // 4, np.float32).tobytes())
    fresh = BiEncoderBackend(tiny[0], embedding_cache_dir=tmp_path)
    with pytest.warns(EmbeddingCacheWarning, match="checksum"):
        scores = fresh.score("cats", DOCS)
    assert scores == pytest.approx(BiEncoderBackend(tiny[0]).score("cats", DOCS), abs=1e-6)


def test_item3c_old_schema_file_is_rebuilt(tiny: tuple[str, str], tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / FILE_NAME)
    with db:
        db.execute(
            "CREATE TABLE embeddings (model TEXT NOT NULL, text_hash BLOB NOT NULL, vector BLOB NOT NULL,"
            " PRIMARY KEY (model, text_hash)) WITHOUT ROWID"
        )
        db.execute("INSERT INTO embeddings VALUES ('m', ?, ?)", (text_key("a"), b"\x00" * 8))
    db.close()
    with pytest.warns(EmbeddingCacheWarning, match="older cache schema"):
        store = EmbeddingStore(tmp_path, model_key="m")
    assert store.get_many(["a"]) == {}
    store.put_many({"a": np.ones(2, dtype=np.float32)})
    assert store.get_many(["a"])["a"].tolist() == [1.0, 1.0]
    (version,) = sqlite3.connect(tmp_path / FILE_NAME).execute("PRAGMA user_version").fetchone()
    assert version == SCHEMA_VERSION


@contextlib.contextmanager
def read_only_bind(source: Path, target: Path) -> Iterator[Path]:
    """``source`` seen read-only at ``target`` (a read-only bind mount); skips where mounting is not allowed."""
    target.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("a read-only bind mount needs root and mount(8)")
    done = subprocess.run(["mount", "--bind", str(source), str(target)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"bind mounts are not allowed here: {done.stderr.strip()}")
    try:
        ro = subprocess.run(["mount", "-o", "remount,bind,ro", str(target)], capture_output=True, text=True)
        if ro.returncode != 0:
            pytest.skip(f"read-only remounts are not allowed here: {ro.stderr.strip()}")
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], check=False)


def snapshot(directory: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in directory.iterdir()}


def test_item3d_read_only_prewarmed_store_is_used_for_reads_and_never_written(
    tiny: tuple[str, str], tmp_path: Path
) -> None:
    warmed(tiny, tmp_path / "rw")
    before = snapshot(tmp_path / "rw")
    with read_only_bind(tmp_path / "rw", tmp_path / "ro") as ro:
        backend = BiEncoderBackend(tiny[0], embedding_cache_dir=ro)
        assert backend._store is not None
        assert backend._store.read_only

        def never_encode(texts: Sequence[str]) -> np.ndarray:
            raise AssertionError(f"encoded {list(texts)!r} instead of reading the read-only store")

        original = backend._encode_fp32
        backend._encode_fp32 = never_encode  # type: ignore[method-assign]
        got = backend.embed_documents(DOCS)
        backend._encode_fp32 = original  # type: ignore[method-assign]
        np.testing.assert_allclose(got, reference(tiny[0], DOCS), atol=1e-6)
        assert backend.score("cats", [*DOCS, "a text nobody warmed"])  # a new text: encoded, not stored
        backend._store.close()
    assert snapshot(tmp_path / "rw") == before


@pytest.fixture
def world_readable_tmp() -> Iterator[Path]:
    """A scratch directory another user can reach (pytest's own tmp root is private to its user)."""
    root = Path(tempfile.mkdtemp(prefix="rankwise-ro-"))
    root.chmod(0o755)
    yield root
    for path in [root, *root.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    shutil.rmtree(root, ignore_errors=True)


def test_item3d_read_only_store_for_an_unprivileged_user(tiny: tuple[str, str], world_readable_tmp: Path) -> None:
    """chmod'ed read-only and read by a user without CAP_DAC_OVERRIDE (setpriv drops root)."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("switching to an unprivileged user needs root and setpriv(1)")
    tmp_path = world_readable_tmp
    model = str(shutil.copytree(tiny[0], tmp_path / "model"))
    cache = tmp_path / "cache"
    warmed((model, tiny[1]), cache)
    expected = reference(tiny[0], DOCS)
    np.save(tmp_path / "expected.npy", expected)
    for path in [tmp_path, *tmp_path.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    before = snapshot(cache)
    code = (
        "import sys, numpy as np\n"
        "from rankwise.backends.encoders.embedding_store import EmbeddingStore\n"
        "from rankwise.backends.encoders.bi_encoder import BiEncoderBackend\n"
        f"b = BiEncoderBackend({model!r}, embedding_cache_dir={str(cache)!r})\n"
        "assert b._store.read_only\n"
        f"docs = {DOCS!r}\n"
        "assert set(b._store.get_many(docs)) == set(docs)\n"
        f"np.testing.assert_allclose(b.embed_documents(docs), np.load({str(tmp_path / 'expected.npy')!r}), atol=1e-6)\n"
        "print('ok')\n"
    )
    env = {**os.environ, "HOME": str(tmp_path), "RANKWISE_CACHE_DIR": str(tmp_path / "nowhere")}
    try:
        done = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c", code],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
    finally:
        for path in [tmp_path, *tmp_path.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
    if done.returncode != 0 and "Permission denied" in done.stderr and "rankwise" not in done.stderr:
        pytest.skip(f"the unprivileged user cannot run this interpreter: {done.stderr.strip()[-200:]}")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("ok")
    assert snapshot(cache) == before


@contextlib.contextmanager
def small_tmpfs(target: Path, size: str = "64k") -> Iterator[Path]:
    target.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("a small tmpfs needs root and mount(8)")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(target)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"tmpfs mounts are not allowed here: {done.stderr.decode().strip()}")
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], check=False)


def fill(directory: Path) -> None:
    """Write until the file system is full."""
    with contextlib.suppress(OSError), open(directory / f"filler-{uuid.uuid4().hex}", "wb", buffering=0) as f:
        while True:
            f.write(b"\x00" * 1024)


def test_item3e_full_disk_write_failure_is_logged_and_the_rerank_goes_on(
    tiny: tuple[str, str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with small_tmpfs(tmp_path / "small") as small:
        backend = BiEncoderBackend(tiny[0], embedding_cache_dir=small)
        backend.warm(DOCS[:1])
        fill(small)
        texts = [f"cats eat fish {i}" for i in range(300)]  # ~40 KB of vectors: cannot fit
        with caplog.at_level(logging.WARNING, logger="rankwise.backends.encoders.embedding_store"):
            got = backend.embed_documents(texts)
            scores = backend.score("cats", [*DOCS, *texts[:5]])
        np.testing.assert_allclose(got, reference(tiny[0], texts), atol=1e-6)
        assert len(scores) == len(DOCS) + 5
        assert any("could not write" in r.getMessage() and FILE_NAME in r.getMessage() for r in caplog.records)
        assert backend._store is not None
        assert backend._store.get_many(DOCS[:1])
        backend._store.close()


def test_item3e_full_disk_before_the_store_exists(tiny: tuple[str, str], tmp_path: Path) -> None:
    with small_tmpfs(tmp_path / "small") as small:
        fill(small)
        backend = BiEncoderBackend(tiny[0], embedding_cache_dir=small / "cache")
        np.testing.assert_allclose(backend.embed_documents(DOCS), reference(tiny[0], DOCS), atol=1e-6)
        if backend._store is not None:
            backend._store.close()


# -- item 12: cut by the model's tokens ------------------------------------------------------------------


def test_item12_cut_to_tokens_ignores_zero_width_space_words(tiny: tuple[str, str]) -> None:
    from rankwise.backends.capabilities import TokenCutting

    backend = BiEncoderBackend(tiny[0], max_length=16)
    assert isinstance(backend, TokenCutting)
    text = " ".join(["\u200b"] * 300) + " cats eat fish"
    assert backend.cut_to_tokens(text).endswith("cats eat fish")  # the 300 "words" are no tokens
    np.testing.assert_allclose(backend.embed_documents([backend.cut_to_tokens(text)]), backend.embed_documents([text]))
    flood = " ".join(["\u200b"] * 3000) + " cats eat fish"  # long enough to be cut by tokens, not returned whole
    assert len(flood) > WHOLE_CHARS_PER_TOKEN * backend.max_length
    assert backend.cut_to_tokens(flood).endswith("cats eat fish")
    long = " ".join(["cats eat fish"] * 100)
    assert len(long) > WHOLE_CHARS_PER_TOKEN * backend.max_length
    cut = backend.cut_to_tokens(long)
    assert len(backend.model.tokenizer(cut)["input_ids"]) == 16  # exactly what the model reads, specials included
    assert long.startswith(cut)
    np.testing.assert_allclose(backend.embed_documents([cut]), backend.embed_documents([long]), atol=1e-6)
    assert backend.cut_to_tokens("cats eat fish") == "cats eat fish"
