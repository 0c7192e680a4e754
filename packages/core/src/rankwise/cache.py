"""A bounded in-memory LRU cache of scores keyed by (backend, query, text)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable


class ScoreCache:
    """Least-recently-used map from a hashable key to a float score; thread-safe.

    >>> cache = ScoreCache(maxsize=1)
    >>> cache.put(("m", "q", "a"), 1.0); cache.put(("m", "q", "b"), 2.0)
    >>> cache.get(("m", "q", "a")) is None, cache.get(("m", "q", "b"))
    (True, 2.0)
    """

    def __init__(self, maxsize: int) -> None:
        if maxsize < 0:
            raise ValueError(f"cache_size must be >= 0, got {maxsize}")
        self.maxsize = maxsize
        self._data: OrderedDict[Hashable, float] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> float | None:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: Hashable, value: float) -> None:
        if self.maxsize == 0:
            return
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)
