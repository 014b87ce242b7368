"""Load control: a per-key rate limit, and the gate that lets the local LLM answer one request at a time
with a bounded queue, so a burst waits a bounded time instead of piling up behind a 10-second generation."""

from __future__ import annotations

import math
import threading
import time
from collections import deque

from cachetools import TTLCache

# Callers tracked at once; past it the least recently seen is forgotten (and gets a fresh allowance).
MAX_TRACKED_KEYS = 100_000


class RateLimiter:
    """At most `per_minute` requests per key in any sliding window of `window_s` seconds. A key is forgotten one
    window after its last allowed request, when none of its requests still counts, so a server that has seen
    many callers (addresses, rotated keys) holds only the recent ones."""

    def __init__(self, per_minute: int, window_s: float = 60.0, max_keys: int = MAX_TRACKED_KEYS) -> None:
        self.per_minute = per_minute
        self.window_s = window_s
        # TTLCache restarts a key's time to live whenever it is stored, i.e. at each allowed request.
        self._seen: TTLCache[str, deque[float]] = TTLCache(maxsize=max_keys, ttl=window_s, timer=time.monotonic)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """Keys tracked now (expired ones are dropped at the next request)."""
        with self._lock:
            self._seen.expire()
            return len(self._seen)

    def check(self, key: str) -> float:
        """Record a request; 0 when allowed, else the seconds until the key may ask again."""
        now = time.monotonic()
        with self._lock:
            times = self._seen.get(key) or deque()
            while times and now - times[0] >= self.window_s:
                times.popleft()
            if len(times) >= self.per_minute:
                return self.window_s - (now - times[0])
            times.append(now)
            self._seen[key] = times
            return 0.0

    @staticmethod
    def retry_after(seconds: float) -> str:
        return str(max(1, math.ceil(seconds)))


class LlmGate:
    """One LLM generation at a time; at most `queue_size` requests wait, each at most `wait_s`."""

    def __init__(self, wait_s: float, queue_size: int) -> None:
        self.wait_s = wait_s
        self.queue_size = queue_size
        self._slot = threading.Semaphore(1)
        self._lock = threading.Lock()
        self.waiting = 0
        self._recent_s: deque[float] = deque(maxlen=20)
        self._held_since = 0.0

    def acquire(self) -> bool:
        if self._slot.acquire(blocking=False):
            self._held_since = time.monotonic()
            return True
        with self._lock:
            if self.waiting >= self.queue_size:
                return False
            self.waiting += 1
        try:
            acquired = self._slot.acquire(timeout=self.wait_s)
        finally:
            with self._lock:
                self.waiting -= 1
        if acquired:
            self._held_since = time.monotonic()
        return acquired

    def release(self) -> None:
        self._recent_s.append(time.monotonic() - self._held_since)
        self._slot.release()

    def retry_after_s(self) -> float:
        """A guess at when the queue will have room: the typical generation time, times those waiting."""
        typical = sorted(self._recent_s)[len(self._recent_s) // 2] if self._recent_s else 10.0
        return typical * (self.waiting + 1)
