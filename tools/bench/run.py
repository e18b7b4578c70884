"""``python -m tools.bench``: measure allybot's speed and memory, print a table, write BENCHMARKS.md.

Each knowledge-base size is measured in a fresh child process (see :mod:`tools.bench.child`)
so that load time and peak memory are not flattered or inflated by an earlier size.
Latencies are compared with a floor measured in the same process on the same strings,
because this machine's speed varies from run to run: the ratios are what to compare.
"""

from __future__ import annotations

import asyncio
import os
import platform
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import rapidfuzz

from bot.app import open_app
from bot.config import Settings
from bot.knowledge.loader import load_knowledge
from bot.querylog.store import QueryLog
from bot.service import AnswerService, Asker, QuerySource
from tools.bench.measure import Latency, StallWatch, in_child
from tools.bench.synthetic import question_mix, read_questions, synthetic_knowledge, write_knowledge

CHECKOUT = Path(__file__).resolve().parents[2]  # the tools run from a checkout, never from an installed package

BUNDLED = 0  # a size of 0 means the bundled knowledge base as it is


@dataclass(frozen=True)
class Plan:
    sizes: tuple[int, ...] = (BUNDLED, 1_000, 10_000, 50_000)
    questions: int = 2_000  # answers timed per size
    floor_questions: int = 10  # full scans timed per size (slow by design)
    logged_questions: int = 10_000  # per query-log run
    askers: tuple[int, ...] = (1, 100)


FULL = Plan()
QUICK = Plan(sizes=(BUNDLED, 300), questions=200, floor_questions=5, logged_questions=500, askers=(1, 10))


def run(plan: Plan, output: Path | None, knowledge_dir: Path, questions_file: Path) -> dict[str, Any]:
    """Run every benchmark in ``plan`` on the knowledge base in ``knowledge_dir`` (and synthetic ones grown from it),
    asking the questions in ``questions_file`` (a question-set YAML); write the Markdown report to ``output`` unless
    it is None."""
    bundled = load_knowledge(knowledge_dir)
    results: dict[str, Any] = {"sizes": [], "logging": [], "machine": machine()}
    with tempfile.TemporaryDirectory(prefix="allybot-bench-") as scratch:
        for size in plan.sizes:
            directory = knowledge_dir if size == BUNDLED else Path(scratch) / f"kb-{size}"
            if size != BUNDLED:
                write_knowledge(synthetic_knowledge(bundled, size), directory)
            measured = _child(
                "size", str(directory), str(plan.questions), str(plan.floor_questions), str(questions_file)
            )
            results["sizes"].append({"label": "bundled" if size == BUNDLED else f"{size:,}", **measured})
            print(f"  measured {results['sizes'][-1]['label']} entries", file=sys.stderr)
        questions = question_mix(bundled, read_questions(questions_file), plan.logged_questions)
        for askers in plan.askers:
            results["logging"].append(asyncio.run(log_throughput(knowledge_dir, questions, askers, Path(scratch))))
    results["idle"] = _child("idle", str(knowledge_dir))
    report = format_report(results)
    print(report)
    if output is not None:
        output.write_text(report, encoding="utf-8")
    return results


def _child(*argv: str) -> dict[str, Any]:
    return in_child("tools.bench.child", *argv, cwd=CHECKOUT)


async def log_throughput(knowledge_dir: Path, questions: list[str], askers: int, scratch: Path) -> dict[str, Any]:
    """Questions answered and logged per second by ``askers`` concurrent askers, and the worst loop stall."""
    path = scratch / f"log-{askers}.sqlite3"
    settings = Settings(knowledge_dir=knowledge_dir, db_path=path, snapshot_dir=None, retention_days=None)
    async with open_app(settings) as app:
        assert app.query_log is not None
        timings, elapsed, worst = await _ask_concurrently(app.service, app.query_log, questions, askers)
    with sqlite3.connect(path) as db:
        (rows,) = db.execute("SELECT COUNT(DISTINCT id) FROM queries").fetchone()
    latency = Latency.of(timings)
    return {
        "askers": askers,
        "questions": len(timings),
        "rows": rows,
        "per_second": len(timings) / elapsed,
        "answer_p99": latency.p99,
        "worst_stall_ms": worst,
    }


async def _ask_concurrently(
    service: AnswerService, query_log: QueryLog, questions: list[str], askers: int
) -> tuple[list[float], float, float]:
    """Each asker's share of ``questions`` in turn, all askers at once: per-answer ms, seconds until all were logged,
    and the worst event-loop stall in ms."""
    share = len(questions) // askers

    async def asker(number: int) -> list[float]:
        who = Asker(user_id=number, guild_id=1, channel_id=2)
        timings = []
        for question in questions[number * share : (number + 1) * share]:
            started = time.perf_counter_ns()  # waiting for its turn included: what the asker feels
            await service.answer_in_turn(question, source=QuerySource.SLASH, asker=who)
            timings.append((time.perf_counter_ns() - started) / 1e6)
            await asyncio.sleep(0)  # the next question is a new message: a new handler, after the loop's turn
        return timings

    loop = asyncio.get_running_loop()
    async with StallWatch().running() as watch:
        started = loop.time()
        timings = [t for batch in await asyncio.gather(*(asker(n) for n in range(askers))) for t in batch]
        await query_log.flush()
        elapsed = loop.time() - started
    return timings, elapsed, watch.worst_ms


def machine() -> dict[str, str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in _read("/proc/cpuinfo").splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown CPU",
    )
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": f"{cpu}, {os.cpu_count()} cores",
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "rapidfuzz": rapidfuzz.__version__,
    }


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


# --- the report -----------------------------------------------------------------------------------

TARGETS = """\
Targets (2-core machine): answer p99 <= 2 ms on the bundled knowledge base and <= 20 ms at
50,000 entries; autocomplete p99 <= 10 ms at 50,000; >= 5,000 answered-and-logged questions/s
with 100 concurrent askers and no loop stall over 20 ms; load + index <= 1 s at 10,000 entries
(a restart from the snapshot <= 1 s); idle memory <= 120 MB with the embedding model loaded."""


def format_report(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [
        "# allybot benchmarks",
        "",
        f"Measured {m['date']} on {m['cpu']}, {m['system']}, Python {m['python']}, rapidfuzz {m['rapidfuzz']}.",
        "Reproduce: `.venv/bin/python -m tools.bench` (writes this file; `--quick` for a small run).",
        "",
        TARGETS,
        "",
        "## Answer latency (normalise + match + decide, no logging), ms",
        "",
        "Floors: one `rapidfuzz.process.extractOne` over every indexed phrasing (the strings allybot",
        "compares), on the already normalised question, with allybot's scorer and with `WRatio`.",
        "Ratio = allybot p50 / floor p50 (below 1: allybot is faster than a plain scan).",
        "",
        "| entries | phrasings | p50 | p95 | p99 | answers/s | scan p50 sort | ratio | scan p50 WRatio | ratio |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for size in results["sizes"]:
        answer, sort_floor, wratio_floor = size["answer"], size["floor_token_sort_ratio"], size["floor_wratio"]
        sort_ratio, wratio_ratio = answer["p50"] / sort_floor["p50"], answer["p50"] / wratio_floor["p50"]
        lines.append(
            f"| {size['label']} | {size['phrasings']:,} | {answer['p50']:.3f} | {answer['p95']:.3f}"
            f" | {answer['p99']:.3f} | {1000 / answer['mean']:,.0f} | {sort_floor['p50']:.2f} | {sort_ratio:.3f}"
            f" | {wratio_floor['p50']:.2f} | {wratio_ratio:.3f} |"
        )
    lines += [
        "",
        "## Load, index, memory and autocomplete",
        "",
        "Load + index: parsing and indexing from scratch (first start, or after an edit). Snapshot: a",
        "restart on unchanged files: read and fingerprint them, load the saved index (bot/matching/snapshots.py).",
        "",
        "| entries | load s | index s | load + index s | snapshot s | index MB | peak RSS MB"
        " | autocomplete p50 ms | p99 ms |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for size in results["sizes"]:
        complete = size["autocomplete"]
        lines.append(
            f"| {size['label']} | {size['load_s']:.2f} | {size['index_s']:.2f} | {size['load_s'] + size['index_s']:.2f}"
            f" | {size['snapshot_s']:.2f} | {size['index_mb']:.0f} | {size['peak_mb']:.0f} | {complete['p50']:.3f}"
            f" | {complete['p99']:.3f} |"
        )
    lines += [
        "",
        "## Query log: answered and logged per second (bundled knowledge base)",
        "",
        "| askers | questions | rows stored | per second | wait + answer p99 ms | worst loop stall ms |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for run_ in results["logging"]:
        lines.append(
            f"| {run_['askers']} | {run_['questions']:,} | {run_['rows']:,} | {run_['per_second']:,.0f}"
            f" | {run_['answer_p99']:.3f} | {run_['worst_stall_ms']:.1f} |"
        )
    lines += [
        "",
        f"Idle memory after start-up (bundled knowledge base, cogs loaded): {results['idle']['idle_mb']:.0f} MB.",
        "",
    ]
    return "\n".join(lines)
