"""``python -m tools.bench --reports``: the moderator reports on synthetic query logs of 100,000 and 1,000,000 rows.

The log (:func:`synthetic_log`) spreads the rows over a year: questions drawn, most popular first (Zipf),
from every question set in tests/data, each asked in several wordings (see ``tools.groups.variants``),
answered once per wording by the real matcher on the bundled knowledge base, 30% of them with a fresh typo
of their own (so the distinct questions grow with the log: 25,000 in 30 days of 1,000,000 rows), by 3,000 askers in 12
channels; 3% of answers get a vote, 40% of them 👎. Each report then runs in a fresh child process
(``python -m tools.bench.reports TASK DB``), the way the bot runs it (through the async report functions,
so off the event loop), with a 1 ms heartbeat task measuring the worst event-loop stall, and the peak
memory of the process. Writes its own section (REPORTS_BENCH.md), not BENCHMARKS.md.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tools.bench.measure import in_child

if TYPE_CHECKING:
    from bot.matching.matcher import Matcher
    from bot.querylog.store import QueryLog

SIZES = (100_000, 1_000_000)
QUICK_SIZES = (20_000,)
TASKS = ("gaps", "review", "gaps_all", "stats", "export")
GAP_TASKS = ("gaps", "review", "gaps_all")  # the ones that need the matcher
BEFORE = "52f9b32"  # the reports as they were before this work (read from git), measured the same way
OLD_TASKS = ("old_gaps", "old_gaps_all", "old_stats", "old_export")
OLD_SKIPPED_AT = {"old_gaps_all": 200_000}  # rows from which an old report is too slow to wait for (202 s at 1M)
LABELS = {
    "gaps": "`/querylog gaps` (30 days, 15 groups)",
    "review": "`/querylog review` (30 days, the queue's first page)",
    "gaps_all": "`allybot logs gaps --days 0` (20 groups)",
    "stats": "`/querylog stats` (365 days) + chart",
    "export": "`/querylog export` (30 days, file for Discord)",
}
GAPS_GROUPS = 15  # what /querylog gaps shows (cogs/moderation.py GAPS: not imported, discord.py would join the heap)
CLI_GROUPS = 20  # what `allybot logs gaps` prints by default (--limit)
UPLOAD_LIMIT = 10 << 20
MISTYPED = 0.3  # share of questions asked with a typo of their own


def synthetic_log(path: Path, rows: int, checkout: Path, seed: int = 5) -> None:
    """A query log of ``rows`` questions over the last 365 days (see the module docstring)."""
    from bot.matching.matcher import Thresholds
    from bot.querylog.schema import MIGRATIONS, QUERY_COLUMNS, SCHEMA_VERSION, statements
    from bot.service import index_knowledge
    from tools.groups import labelled_questions

    rng = random.Random(seed)
    files = sorted((checkout / "tests" / "data").glob("questions_*.yaml"))
    wordings = [item.wording for item in labelled_questions(files)]
    rng.shuffle(wordings)
    matcher = index_knowledge(checkout / "knowledge", Thresholds())
    answers = []
    for wording in wordings:
        match = matcher.match(wording)
        best = match.best
        answers.append(
            (
                matcher.normalize(wording),
                match.outcome.value,
                best.entry.id if best and match.outcome.value != "unanswered" else None,
                best.score if best else 0.0,
                json.dumps([{"id": s.entry.id, "score": s.score} for s in match.ranked[1:]]),
            )
        )
    weights = [1 / (rank + 1) ** 0.9 for rank in range(len(wordings))]
    picks = rng.choices(range(len(wordings)), weights=weights, k=rows)
    users = [hashlib.sha256(f"user{n}".encode()).hexdigest()[:32] for n in range(3000)]
    start = datetime.now(UTC) - timedelta(days=365)
    step = 365 * 86400 / rows
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    for script in MIGRATIONS:
        for statement in statements(script):
            db.execute(statement)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    queries, votes = [], []
    for number, pick in enumerate(picks):
        normalized, outcome, entry_id, score, alternatives = answers[pick]
        question = wordings[pick]
        if rng.random() < MISTYPED:  # a fresh typo: the log's distinct questions grow with it, as in a real server
            question, normalized = _mistype(question, rng), _mistype(normalized, rng)
        asked = (start + timedelta(seconds=number * step)).isoformat(timespec="seconds")
        user = users[int(rng.paretovariate(1.2)) % len(users)]
        queries.append(
            (number + 1, asked, "slash", 1, 100 + rng.randrange(12), user, question, 0, normalized, outcome,
             entry_id, score, alternatives, "bench", 0.3)
        )  # fmt: skip
        if outcome != "unanswered" and rng.random() < 0.03:
            votes.append((number + 1, users[rng.randrange(len(users))], -1 if rng.random() < 0.4 else 1, asked))
    db.executemany(
        f"INSERT INTO queries ({', '.join(QUERY_COLUMNS)}) VALUES ({', '.join('?' * len(QUERY_COLUMNS))})", queries
    )
    db.executemany("INSERT OR IGNORE INTO feedback VALUES (?, ?, ?, ?)", votes)
    db.commit()
    db.close()


def _mistype(text: str, rng: random.Random) -> str:
    """``text`` with two neighbouring letters of one longer word swapped."""
    words = text.split(" ")
    long_words = [i for i, w in enumerate(words) if len(w) >= 5]
    if not long_words:
        return text + rng.choice("?!.")
    i = rng.choice(long_words)
    w = words[i]
    j = rng.randrange(len(w) - 1)
    words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    return " ".join(words)


def measure(tasks: tuple[str, ...], sizes: tuple[int, ...], checkout: Path, with_before: bool = True) -> dict[str, Any]:
    results: dict[str, Any] = {"sizes": []}
    with tempfile.TemporaryDirectory(prefix="allybot-bench-reports-") as scratch:
        for rows in sizes:
            path = Path(scratch) / f"log-{rows}.sqlite3"
            started = time.perf_counter()
            synthetic_log(path, rows, checkout)
            print(f"  generated {rows:,} rows in {time.perf_counter() - started:.1f} s", file=sys.stderr)
            measured: dict[str, Any] = {"rows": rows, "file_mb": path.stat().st_size / 2**20}
            for task in (*tasks, *(OLD_TASKS if with_before else ())):
                if rows >= OLD_SKIPPED_AT.get(task, rows + 1):
                    continue
                measured[task] = in_child("tools.bench.reports", task, str(path), cwd=checkout)
                print(f"  {rows:,} {task}: {measured[task]}", file=sys.stderr)
            results["sizes"].append(measured)
    return results


async def _run_task(task: str, path: Path) -> dict[str, Any]:
    from bot.matching.matcher import Thresholds
    from bot.querylog import reports
    from bot.querylog.chart import bar_chart
    from bot.querylog.store import QueryLog
    from bot.service import index_knowledge
    from tools.bench.measure import StallWatch

    checkout = Path(__file__).resolve().parents[2]
    if task.startswith("old_"):
        return await _run_old(task, path, checkout)
    matcher = index_knowledge(checkout / "knowledge", Thresholds()) if task in GAP_TASKS else None
    log = QueryLog(path)
    db = await log.connection()
    extra: dict[str, Any] = {}
    baseline = _reset_peak()
    with tempfile.TemporaryDirectory(prefix="allybot-export-") as folder:
        async with StallWatch().running() as watch:
            started = time.perf_counter()
            if matcher is not None:
                await _gap_report(task, log, matcher)
            elif task == "stats":
                found = await reports.stats(db, 365)
                await asyncio.to_thread(bar_chart, found.per_day)
            else:
                export = await reports.export_file(db, 30, Path(folder), UPLOAD_LIMIT - (64 << 10))
                extra = {
                    "file_mb": export.path.stat().st_size / 2**20,
                    "compressed": export.compressed,
                    "complete": export.complete,
                    "rows": export.rows,
                }
            seconds = time.perf_counter() - started
    await log.close()
    return {
        "seconds": seconds,
        "worst_stall_ms": watch.worst_ms,
        "memory_mb": max(0.0, _peak_mb() - baseline),
        **extra,
    }


async def _gap_report(task: str, log: QueryLog, matcher: Matcher) -> None:
    """What ``/querylog gaps``, ``/querylog review`` (its first page) and ``allybot logs gaps --days 0`` read."""
    from bot.querylog import reports
    from bot.querylog.review import read_queue

    if task == "gaps":
        await reports.gap_groups(await log.connection(), matcher, 30, limit=GAPS_GROUPS)
    elif task == "review":
        await read_queue(log, matcher, 30)
    else:
        await reports.gap_groups(await log.connection(), matcher, None, limit=CLI_GROUPS)


def _reset_peak() -> float:
    """Start measuring peak memory from now (Linux: clear_refs 5 resets the peak resident set); the current MB."""
    Path("/proc/self/clear_refs").write_text("5")
    return _peak_mb()


def _peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def _run_old(task: str, path: Path, checkout: Path) -> dict[str, Any]:
    """The report as it was at ``BEFORE``, on the event loop as the bot ran it then."""
    import importlib.util

    from bot.querylog.store import QueryLog
    from tools.bench.measure import StallWatch

    source = subprocess.run(
        ["git", "show", f"{BEFORE}:bot/querylog/reports.py"], capture_output=True, text=True, check=True, cwd=checkout
    ).stdout
    chart_source = subprocess.run(
        ["git", "show", f"{BEFORE}:bot/querylog/chart.py"], capture_output=True, text=True, check=True, cwd=checkout
    ).stdout
    old: dict[str, Any] = {}
    spec = importlib.util.spec_from_loader("old_reports", loader=None)
    assert spec is not None
    exec(compile(source, "old_reports.py", "exec"), old)
    exec(compile(chart_source, "old_chart.py", "exec"), old)
    log = QueryLog(path)
    db = await log.connection()
    extra: dict[str, Any] = {}
    baseline = _reset_peak()
    async with StallWatch().running() as watch:
        started = time.perf_counter()
        if task == "old_gaps":
            await old["gaps"](db, 30, limit=15)
        elif task == "old_gaps_all":
            await old["gaps"](db, None, limit=20)
        elif task == "old_stats":
            found = await old["stats"](db, 365)
            old["bar_chart"](found.per_day)
        else:
            data = await old["export_csv"](db, 30)
            extra = {"file_mb": len(data.encode()) / 2**20, "compressed": False, "complete": True, "rows": -1}
        seconds = time.perf_counter() - started
    await log.close()
    return {"seconds": seconds, "worst_stall_ms": watch.worst_ms, "memory_mb": max(0.0, _peak_mb() - baseline), **extra}


def format_section(results: dict[str, Any], machine: dict[str, str]) -> str:
    lines = [
        "## Moderator reports on a large query log",
        "",
        f"Measured {machine['date']} on {machine['cpu']}, Python {machine['python']}.",
        "Reproduce: `.venv/bin/python -m tools.bench --reports` (writes REPORTS_BENCH.md; synthetic logs over a year,",
        "see tools/bench/reports.py). Each report runs in a fresh process the way the bot runs it, with a 1 ms",
        "heartbeat on the event loop; memory is the peak resident memory above the process's start.",
        "",
        "Targets at 1,000,000 rows: gaps first page <= 2 s, stats <= 2 s, export of 30 days <= 5 s with memory",
        f'<= 2x the file, worst heartbeat stall <= 50 ms. "before" is the code at `{BEFORE}` on the same file (its',
        "`logs gaps --days 0` is not run from 200,000 rows: 202 s at 1,000,000).",
        "",
        "| rows | report | version | seconds | worst stall ms | peak memory MB | notes |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for size in results["sizes"]:
        for task in TASKS:
            for version, name in (("before", "old_" + task), ("**now**", task)):
                if name not in size:
                    continue
                r = size[name]
                note = ""
                if task == "export":
                    rows = f"{r['rows']:,} rows, " if r["rows"] >= 0 else ""
                    note = f"{rows}{r['file_mb']:.1f} MB" + (", gzipped" if r["compressed"] else "")
                    note += "" if r["complete"] else ", cut to fit"
                lines.append(
                    f"| {size['rows']:,} | {LABELS[task]} | {version} | {r['seconds']:.2f} | {r['worst_stall_ms']:.1f}"
                    f" | {r['memory_mb']:.0f} | {note} |"
                )
    lines.append("")
    return "\n".join(lines)


def run(quick: bool, output: Path | None, checkout: Path) -> dict[str, Any]:
    from tools.bench.run import machine

    results = measure(TASKS, QUICK_SIZES if quick else SIZES, checkout)
    section = format_section(results, machine())
    print(section)
    if output is not None:
        output.write_text(section, encoding="utf-8")
    return results


if __name__ == "__main__":
    print(json.dumps(asyncio.run(_run_task(sys.argv[1], Path(sys.argv[2])))))
