"""The results cache of the HTTP process: whole answers of the query processes, kept per
dataset version so that a repeated query costs no query process at all (issue #14, warm
throughput).

Why it is safe:

* **Key.** The dataset version's tag and the client's whole :class:`~..store.PublicRequest`
  (query text exactly as sent, the policy, ``Accept`` and ``format``/``output`` as sent, so
  the negotiated format is a function of the key, ``infer``, default/named graph URIs and the
  base IRI). The HTTP thread never parses a query (``server.query``), so the key is the exact
  text rather than a normalised one: two spellings of one query are two entries, never one
  entry for two different queries. A release is immutable, so an entry never goes stale; a
  new release has a new tag, so its requests miss.
* **What is stored.** Only a 200 whose body was read to its end without an error (a deadline
  kill or a failure while streaming stores nothing, nor does a client that disconnects), and
  only answers of the dataset (a federated ``SERVICE`` answer is not a function of the
  version). A row-capped answer is stored with its headers: the cap is part of the answer.
  Only a request that was planned and allowed by a query process is ever stored, so a hit
  serves nothing the read-only rules did not already allow.
* **Memory.** ``result_cache_bytes`` in all (``0``: no cache), least recently used evicted
  first; an answer larger than ``result_cache_entry_bytes`` is streamed and not kept, so one
  huge answer cannot evict everything.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Generator, Hashable, Iterator
from dataclasses import dataclass

NAME = "ketamine-ed-kg"
"""This cache's name in ``Cache-Status`` (RFC 9211)."""
HIT = f"{NAME}; hit"
MISS = f"{NAME}; fwd=uri-miss"

_OVERHEAD = 512
"""Bytes charged per entry beyond its body and headers (key, objects, dict slot)."""


@dataclass(frozen=True)
class Entry:
    """One stored answer: its body and the headers that describe it (type, row cap)."""

    body: bytes
    content_type: str
    headers: tuple[tuple[str, str], ...]
    size: int


class ResultCache:
    """A thread-safe LRU map from request keys to whole answers, bounded in bytes."""

    def __init__(self, budget: int, entry_limit: int) -> None:
        self.budget = budget
        self.entry_limit = min(entry_limit, budget)
        self._entries: OrderedDict[Hashable, Entry] = OrderedDict()
        self._lock = threading.Lock()
        self.used = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> Entry | None:
        """The entry for ``key`` (now the most recently used), or None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: Hashable, body: bytes, content_type: str,
            headers: tuple[tuple[str, str], ...], key_size: int = 0) -> bool:
        """Store an answer unless it is over the per-entry limit; evict the least recently
        used entries until the budget holds. True when stored."""
        size = (len(body) + len(content_type) + key_size + _OVERHEAD
                + sum(len(k) + len(v) for k, v in headers))
        if size > self.entry_limit:
            return False
        entry = Entry(body, content_type, headers, size)
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self.used -= old.size
            while self._entries and self.used + size > self.budget:
                _, evicted = self._entries.popitem(last=False)
                self.used -= evicted.size
            self._entries[key] = entry
            self.used += size
        return True

    def capture(self, key: Hashable, body: Iterator[bytes], content_type: str,
                headers: tuple[tuple[str, str], ...], key_size: int = 0
                ) -> Generator[bytes, None, None]:
        """Stream ``body`` unchanged, keeping a copy up to the per-entry limit; store it only
        when the body ends normally (an exception or an early close stores nothing)."""
        parts: list[bytes] | None = []
        held = 0
        try:
            for chunk in body:
                if parts is not None:
                    held += len(chunk)
                    if held > self.entry_limit:
                        parts = None  # too large to keep: stream the rest only
                    else:
                        parts.append(chunk)
                yield chunk
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
        if parts is not None:
            self.put(key, b"".join(parts), content_type, headers, key_size)


__all__ = ["HIT", "MISS", "NAME", "Entry", "ResultCache"]
