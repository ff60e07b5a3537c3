"""A bounded, thread-safe cache keyed by content, for pictures that every page run would otherwise redraw.

Streamlit's ``st.cache_data`` hands back a fresh copy of its value on every call, so the same explanation arrives as a
new object each run; keying by the arrays' bytes (a 16-byte BLAKE2 digest, microseconds for a CIFAR map) finds the
picture drawn before, whichever visitor asked for it. Values are shared between visitors: cache only immutable ones
(bytes) or arrays marked read-only.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

import numpy as np

Value = TypeVar("Value")


def _feed(digest: hashlib.blake2b, part: object) -> None:
    if isinstance(part, np.ndarray):
        part = np.ascontiguousarray(part)
        digest.update(repr(("array", part.dtype.str, part.shape)).encode())
        digest.update(part.data)
    elif isinstance(part, (list, tuple)):
        digest.update(f"{type(part).__name__}[{len(part)}]".encode())
        for item in part:
            _feed(digest, item)
    elif isinstance(part, dict):
        digest.update(f"dict[{len(part)}]".encode())
        for name, item in sorted(part.items(), key=lambda pair: repr(pair[0])):
            _feed(digest, name)
            _feed(digest, item)
    elif dataclasses.is_dataclass(part) and not isinstance(part, type):
        digest.update(type(part).__qualname__.encode())
        for item in dataclasses.fields(part):
            _feed(digest, getattr(part, item.name))
    else:
        digest.update(repr(part).encode())  # numbers, strings, None, slices
    digest.update(b"\x00")


def content_key(*parts: object) -> bytes:
    """A digest of the parts in order: arrays by dtype, shape and bytes; lists, tuples, dicts and dataclasses by their
    items (a NumPy ``repr`` elides large arrays, so it is never used for them); other values by ``repr``."""
    digest = hashlib.blake2b(digest_size=16)
    for part in parts:
        _feed(digest, part)
    return digest.digest()


def value_bytes(value: object) -> int:
    """Memory an array or bytes value holds (0 for other values, which are counted only by number)."""
    if isinstance(value, np.ndarray):
        return value.nbytes
    return len(value) if isinstance(value, (bytes, bytearray)) else 0


class BoundedCache(Generic[Value]):
    """Least-recently-used cache of at most ``size`` values and ``max_bytes`` of arrays and bytes (an upload can be
    large, and visitors choose what is cached); ``make`` runs outside the lock (two visitors may both make a missing
    value once; both results are equal)."""

    def __init__(self, size: int, max_bytes: int = 64 * 2**20) -> None:
        self.size, self.max_bytes = size, max_bytes
        self._values: OrderedDict[bytes, Value] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._values)

    @property
    def held_bytes(self) -> int:
        return self._bytes

    def get(self, key: bytes, make: Callable[[], Value]) -> Value:
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
        value = make()
        if value_bytes(value) > self.max_bytes:
            return value  # too large to keep at all
        with self._lock:
            if key not in self._values:
                self._values[key] = value
                self._bytes += value_bytes(value)
            while len(self._values) > self.size or self._bytes > self.max_bytes:
                _, evicted = self._values.popitem(last=False)
                self._bytes -= value_bytes(evicted)
        return value


def cached_by_content(size: int, max_bytes: int = 64 * 2**20) -> Callable[[Callable[..., Value]], Callable[..., Value]]:
    """Decorator: remember a pure function's results by the content of its arguments (at most ``size`` results and
    ``max_bytes`` of arrays, see :class:`BoundedCache`). Array
    results are made read-only, since every caller shares them; other results must not be changed by callers."""

    def decorate(function: Callable[..., Value]) -> Callable[..., Value]:
        cache: BoundedCache[Value] = BoundedCache(size, max_bytes)

        def make(args: tuple, kwargs: dict) -> Value:
            value = function(*args, **kwargs)
            if isinstance(value, np.ndarray):
                value.setflags(write=False)
            return value

        @functools.wraps(function)
        def cached(*args: object, **kwargs: object) -> Value:
            return cache.get(content_key(args, kwargs), lambda: make(args, kwargs))

        cached.cache = cache  # type: ignore[attr-defined]
        return cached

    return decorate
