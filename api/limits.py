"""Load control: a per-key rate limit, and the gate that lets the local LLM answer one request at a time
with a bounded queue, so a burst waits a bounded time instead of piling up behind a 10-second generation."""

from __future__ import annotations

import math
import threading
import time
from collections import deque


class RateLimiter:
    """At most `per_minute` requests per key in any sliding 60-second window."""

    window_s = 60.0

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, key: str) -> float:
        """Record a request; 0 when allowed, else the seconds until the key may ask again."""
        now = time.monotonic()
        with self._lock:
            times = self._seen.setdefault(key, deque())
            while times and now - times[0] >= self.window_s:
                times.popleft()
            if len(times) >= self.per_minute:
                return self.window_s - (now - times[0])
            times.append(now)
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
