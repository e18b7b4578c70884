"""Timing and memory primitives shared by the benchmarks.

Latencies are per call, with ``time.perf_counter_ns``; summaries are nearest-rank
percentiles. Memory is read from ``/proc`` (resident set) and ``getrusage`` (peak),
so it includes everything the interpreter holds, as an operator would see it.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import resource
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

Item = TypeVar("Item")


@dataclass(frozen=True, slots=True)
class Latency:
    """Percentiles of per-call times, in milliseconds, and the throughput they imply."""

    calls: int
    p50: float
    p95: float
    p99: float
    mean: float

    @classmethod
    def of(cls, milliseconds: list[float]) -> Latency:
        ordered = sorted(milliseconds)
        p50, p95, p99 = (percentile(ordered, p) for p in (50, 95, 99))
        return cls(len(ordered), p50, p95, p99, sum(ordered) / len(ordered))


def percentile(ordered: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    return ordered[max(math.ceil(p / 100 * len(ordered)) - 1, 0)]


def time_each(call: Callable[[Item], object], items: Iterable[Item]) -> list[float]:
    """Milliseconds each ``call(item)`` took."""
    timings = []
    clock = time.perf_counter_ns
    for item in items:
        started = clock()
        call(item)
        timings.append((clock() - started) / 1e6)
    return timings


def resident_mb() -> float:
    """This process's resident memory now (Linux)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


def peak_resident_mb() -> float:
    """This process's largest resident memory so far (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class StallWatch:
    """A task ticking every millisecond; ``worst_ms`` is the longest the event loop kept it waiting."""

    def __init__(self) -> None:
        self.worst_ms = 0.0

    async def _tick(self) -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            self.worst_ms = max(self.worst_ms, (now - last) * 1000 - 1)
            last = now

    @asynccontextmanager
    async def running(self) -> AsyncIterator[StallWatch]:
        task = asyncio.create_task(self._tick())
        await asyncio.sleep(0)
        try:
            yield self
            await asyncio.sleep(0.005)  # let the heartbeat see the loop again: a stall at the very end counts too
        finally:
            task.cancel()


def in_child(module: str, *argv: str, cwd: Path) -> dict[str, Any]:
    """Run ``python -m module argv...`` in a fresh process without allybot's or Discord's settings, and return the
    JSON object it prints: each measurement starts from a clean interpreter and heap."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("ALLYBOT_", "DISCORD_"))}
    done = subprocess.run(
        [sys.executable, "-m", module, *argv], capture_output=True, text=True, check=True, env=environment, cwd=cwd
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result
