"""Share the event loop fairly between a burst of questions and everything else on it.

Answering is synchronous CPU work: about 0.15 ms a question on the bundled
knowledge base, up to 15 ms at 50,000 entries. The Discord gateway, interaction
acknowledgements and the query log's writer run on the same event loop, and a
burst of questions (100 askers at once) answered back to back held it for 45-55
ms at a time. A :class:`Pacer` lets such jobs run only for a short slice of each
loop iteration; the rest wait in arrival order and run in later iterations, so
the loop gets back to its other work every few milliseconds.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

Result = TypeVar("Result")

SLICE_SECONDS = 0.003  # CPU time jobs may take per loop iteration; 3 ms kept the worst stall near 10 ms


class Pacer:
    """Runs short synchronous jobs on the event loop, at most ``slice_seconds`` of them per loop iteration.

    While nothing is waiting and the current iteration's slice has time left, a job
    runs at once (no extra await, no overhead). Otherwise it joins a queue that one
    worker task drains a slice at a time, yielding to the loop in between.
    """

    def __init__(self, slice_seconds: float = SLICE_SECONDS, clock: Callable[[], float] = time.perf_counter) -> None:
        self._slice_seconds = slice_seconds
        self._clock = clock
        self._slice_ends: float | None = None  # None until a job runs in the current loop iteration
        self._waiting: deque[tuple[Callable[[], Any], asyncio.Future[Any]]] = deque()
        self._worker: asyncio.Task[None] | None = None

    async def run(self, job: Callable[[], Result]) -> Result:
        """``job()``, when its turn comes; its exception, if it raises."""
        if not self._waiting and self._slice_has_time():
            return job()
        turn: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._waiting.append((job, turn))
        if self._worker is None:
            self._worker = asyncio.create_task(self._work_through_queue(), name="allybot-pacer")
        return await turn

    def _slice_has_time(self) -> bool:
        now = self._clock()
        if self._slice_ends is None:  # the first job of this loop iteration opens its slice
            self._slice_ends = now + self._slice_seconds
            asyncio.get_running_loop().call_soon(self._close_slice)  # runs at the start of the next iteration
        return now < self._slice_ends

    def _close_slice(self) -> None:
        self._slice_ends = None

    async def _work_through_queue(self) -> None:
        try:
            while self._waiting:
                if not self._slice_has_time():
                    await asyncio.sleep(0)  # the rest of this iteration belongs to the loop's other work
                    continue
                job, turn = self._waiting.popleft()
                if turn.cancelled():  # its asker gave up (a cancelled handler)
                    continue
                try:
                    turn.set_result(job())
                except Exception as error:  # delivered to the job's caller, not lost in this task
                    turn.set_exception(error)
        finally:
            self._worker = None
