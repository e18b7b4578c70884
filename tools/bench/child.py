"""What the benchmarks measure in a fresh process, so memory figures start from a clean interpreter.

``python -m tools.bench.child size DIR COUNT FLOOR_COUNT QUESTIONS`` loads and indexes the knowledge
base in DIR and times answers (mixed from the question set QUESTIONS), the full-scan floors and
autocomplete; ``python -m tools.bench.child idle DIR`` starts the Discord bot on the knowledge base
in DIR as far as it goes without a network. Each prints one JSON object.
"""

from __future__ import annotations

import asyncio
import gc
import json
import random
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz, process

from bot.knowledge.loader import load_knowledge, read_knowledge_files
from bot.matching.snapshots import Snapshots
from bot.service import AnswerService, QuerySource
from tools.bench.measure import Latency, peak_resident_mb, resident_mb, time_each
from tools.bench.synthetic import question_mix, read_questions

WARM_UP = 50


def measure_size(directory: Path, count: int, floor_count: int, questions_file: Path) -> dict[str, Any]:
    """Load, index, snapshot and answer timings; the parts are timed one by one, so built here, not by the app."""
    before = resident_mb()
    started = time.perf_counter()
    knowledge = load_knowledge(directory)
    loaded = time.perf_counter()
    service = AnswerService(knowledge)
    indexed = time.perf_counter()
    memory = {"peak_mb": peak_resident_mb(), "index_mb": resident_mb() - before}
    with tempfile.TemporaryDirectory() as folder:
        snapshots = Snapshots(Path(folder))
        snapshots.save(read_knowledge_files(directory), service.matcher)
        restart = time.perf_counter()
        snapshots.matcher(directory, service.matcher.thresholds)  # read and fingerprint the files, then unpickle
        from_snapshot = time.perf_counter() - restart
    questions = question_mix(knowledge, read_questions(questions_file), count)
    for question in questions[:WARM_UP]:
        service.answer(question, source=QuerySource.CLI)
    answers = time_each(lambda q: service.answer(q, source=QuerySource.CLI), questions)
    return {
        "entries": len(knowledge),
        "load_s": loaded - started,
        "index_s": indexed - loaded,
        "snapshot_s": from_snapshot,
        **memory,
        "answer": _latency(answers),
        **_floors(service, questions, floor_count),
        "autocomplete": _latency(time_each(service.matcher.complete, _typed_titles(knowledge, count))),
    }


def _latency(milliseconds: list[float]) -> dict[str, float]:
    latency = Latency.of(milliseconds)
    return {"p50": latency.p50, "p95": latency.p95, "p99": latency.p99, "mean": latency.mean}


def _floors(service: AnswerService, questions: list[str], floor_count: int) -> dict[str, Any]:
    """A plain full scan of every indexed phrasing with extractOne, per scorer, on the same normalised strings."""
    matcher = service.matcher
    phrasings = [p for texts in matcher.phrasings for p in texts]
    sample = [matcher.normalize(q) for q in random.Random(5).sample(questions, min(floor_count, len(questions)))]
    floors = {
        f"floor_{name}": _latency(time_each(partial(process.extractOne, choices=phrasings, scorer=scorer), sample))
        for name, scorer in (("token_sort_ratio", fuzz.token_sort_ratio), ("wratio", fuzz.WRatio))
    }
    return {"phrasings": len(phrasings), **floors}


def _typed_titles(knowledge: Any, count: int) -> list[str]:
    """What people type into /topic: the first 1-20 characters of a title, a fifth of them with a typo."""
    rng = random.Random(13)
    titles = [entry.title for entry in knowledge]
    typed = []
    for _ in range(count):
        text = rng.choice(titles)[: rng.randint(1, 20)]
        if len(text) > 4 and rng.random() < 0.2:
            cut = rng.randrange(1, len(text))
            text = text[:cut] + text[cut + 1 :]
        typed.append(text)
    return typed


async def idle_memory(knowledge_dir: Path) -> dict[str, float]:
    """Resident memory of the bot after start-up: knowledge base, query log, cogs loaded (no gateway)."""
    from bot.app import open_app
    from bot.config import Settings
    from bot.frontends.discord_bot.client import AllyBot

    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(knowledge_dir=knowledge_dir, db_path=Path(folder) / "idle.sqlite3", snapshot_dir=None)
        async with open_app(settings) as app:
            bot = AllyBot(app.settings, app.service, app.query_log)
            await bot.setup_hook()
            gc.collect()
            await asyncio.sleep(0.2)
            return {"idle_mb": resident_mb(), "peak_mb": peak_resident_mb()}


def main(argv: list[str]) -> None:
    if argv[0] == "idle":
        result = asyncio.run(idle_memory(Path(argv[1])))
    else:
        result = measure_size(Path(argv[1]), int(argv[2]), int(argv[3]), Path(argv[4]))
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
