"""The pacer on a real event loop, with a clock that each job moves on by exactly one millisecond."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from bot.pacing import Pacer

JOB_SECONDS = 0.001


class LoopCounter:
    """Counts event-loop iterations: a callback that schedules itself again each time it runs."""

    def __init__(self) -> None:
        self.iteration = 0
        self._handle = asyncio.get_running_loop().call_soon(self._tick)

    def _tick(self) -> None:
        self.iteration += 1
        self._handle = asyncio.get_running_loop().call_soon(self._tick)

    def stop(self) -> None:
        self._handle.cancel()


class JobClock:
    """Time that passes only while jobs run."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def job(self, result: object, ran: list[tuple[object, int]], loop: LoopCounter) -> Callable[[], object]:
        def work() -> object:
            ran.append((result, loop.iteration))
            self.now += JOB_SECONDS
            return result

        return work


async def test_a_burst_runs_in_arrival_order_a_few_jobs_per_loop_iteration():
    clock, counter, ran = JobClock(), LoopCounter(), []
    pacer = Pacer(slice_seconds=0.003, clock=clock)
    results = await asyncio.gather(*(pacer.run(clock.job(n, ran, counter)) for n in range(30)))
    counter.stop()
    assert results == list(range(30))
    assert [n for n, _ in ran] == list(range(30))
    per_iteration: dict[int, int] = {}
    for _, iteration in ran:
        per_iteration[iteration] = per_iteration.get(iteration, 0) + 1
    assert max(per_iteration.values()) == 3  # 3 ms of 1 ms jobs, then the loop gets its turn
    assert len(per_iteration) == 10


async def test_a_lone_job_runs_at_once_without_a_worker():
    clock, counter, ran = JobClock(), LoopCounter(), []
    pacer = Pacer(slice_seconds=0.003, clock=clock)
    before = counter.iteration
    assert await pacer.run(clock.job("now", ran, counter)) == "now"
    assert ran == [("now", before)] and pacer._worker is None
    counter.stop()


async def test_an_error_reaches_its_caller_and_the_queue_goes_on():
    clock, counter, ran = JobClock(), LoopCounter(), []
    pacer = Pacer(slice_seconds=0.002, clock=clock)

    def broken() -> None:
        clock.now += JOB_SECONDS
        raise ValueError("bad job")

    jobs = [pacer.run(clock.job(n, ran, counter)) for n in range(3)]
    outcomes = await asyncio.gather(*jobs[:2], pacer.run(broken), jobs[2], return_exceptions=True)
    counter.stop()
    assert outcomes[:2] == [0, 1] and outcomes[3] == 2
    assert isinstance(outcomes[2], ValueError)


async def test_a_cancelled_waiter_is_skipped():
    clock, counter, ran = JobClock(), LoopCounter(), []
    pacer = Pacer(slice_seconds=0.001, clock=clock)
    first = asyncio.ensure_future(pacer.run(clock.job("first", ran, counter)))
    given_up = asyncio.ensure_future(pacer.run(clock.job("given up", ran, counter)))
    last = asyncio.ensure_future(pacer.run(clock.job("last", ran, counter)))
    await asyncio.sleep(0)
    given_up.cancel()
    assert await first == "first" and await last == "last"
    with pytest.raises(asyncio.CancelledError):
        await given_up
    counter.stop()
    assert [name for name, _ in ran] == ["first", "last"]
