"""Load: 1,000 questions from 100 concurrent askers through the answer service and a real query log.

Latencies are reported (``pytest -s``, and as JUnit properties), never asserted.
"""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from bot.app import open_app
from bot.querylog.store import stored_question
from bot.service import Answer, Asker, QuerySource
from tests.conftest import BUNDLED_KB, app_settings
from tests.discord_harness import CHANNEL_ID, GUILD_ID

ASKERS, EACH = 100, 10
QUESTION_SET = Path(__file__).parent / "data" / "questions_tune.yaml"
FIRST_USER_ID = 930000000000100000
JUNK = [
    "",
    "   ",
    "🤝🤝🤝",
    "x" * 5000,
    "'); DROP TABLE queries; --",
    "=cmd|' /C calc'!A0",
    "line\nbreak\ttab\x00nul",
    "lone \ud800 surrogate",
    "<@123456789012345678> @everyone",
    "مرحبا NATO",
]


def questions() -> list[str]:
    tune = [item["q"] for item in yaml.safe_load(QUESTION_SET.read_text(encoding="utf-8"))["questions"]]
    mixed = itertools.cycle(JUNK + tune)
    return [next(mixed) for _ in range(ASKERS * EACH)]


async def test_a_thousand_questions_from_a_hundred_askers_are_each_logged_once(
    tmp_path: Path, record_property: Callable[[str, Any], None]
) -> None:
    database = tmp_path / "log.sqlite3"
    async with open_app(app_settings(tmp_path, BUNDLED_KB, retention_days=365)) as app:
        query_log, service = app.query_log, app.service
        assert query_log is not None
        asked = questions()
        latencies: list[float] = []

        async def asker(number: int) -> list[Answer]:
            who = Asker(FIRST_USER_ID + number, GUILD_ID, CHANNEL_ID)
            answers = []
            for question in asked[number * EACH : (number + 1) * EACH]:
                await asyncio.sleep(0)  # let the other askers and the log writer in between questions
                started = time.perf_counter()
                answers.append(service.answer(question, source=QuerySource.SLASH, asker=who))
                latencies.append((time.perf_counter() - started) * 1000)
            return answers

        started = time.perf_counter()
        answers = [a for batch in await asyncio.gather(*(asker(n) for n in range(ASKERS))) for a in batch]
        await asyncio.wait_for(query_log.flush(), 30)
        elapsed = time.perf_counter() - started
        health = query_log.health

    percentiles = statistics.quantiles(latencies, n=100)
    figures = (
        f"{len(answers)} answers: p50 {percentiles[49]:.2f} ms, p99 {percentiles[98]:.2f} ms, "
        f"max {max(latencies):.2f} ms; all answered and logged in {elapsed:.2f} s"
    )
    record_property("answer latency", figures)
    print(f"\n{figures}")
    assert (health.last_error, health.failing_since, health.pending) == (None, None, 0), health
    with sqlite3.connect(database) as db:
        logged = db.execute("SELECT id, question, user_hash FROM queries ORDER BY id").fetchall()
    assert len(logged) == len({a.query_id for a in answers}) == ASKERS * EACH, figures
    assert [row[0] for row in logged] == sorted(a.query_id for a in answers), "each question exactly once"
    by_id = {a.query_id: stored_question(a.query) for a in answers}
    assert all(by_id[query_id] == question for query_id, question, _ in logged)
    assert {h for _, _, h in logged} == {query_log.user_hash(FIRST_USER_ID + n) for n in range(ASKERS)}
    contents = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert not any(str(FIRST_USER_ID + n).encode() in contents for n in range(ASKERS)), "user ids only hashed"
