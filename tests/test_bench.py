"""The benchmark runs end to end at a tiny size and reports every figure; its timings are never checked."""

from __future__ import annotations

from pathlib import Path

from bot.frontends.cli import build_parser
from bot.frontends.discord_bot.cogs.moderation import GAPS
from tests.conftest import BUNDLED_KB, ROOT
from tools.bench import reports
from tools.bench.run import Plan, run

TINY = Plan(sizes=(120,), questions=30, floor_questions=2, logged_questions=60, askers=(1, 3))


def test_benchmark_reports_every_measurement(tmp_path: Path):
    report = tmp_path / "BENCHMARKS.md"
    results = run(TINY, report, BUNDLED_KB, ROOT / "tests" / "data" / "questions_tune.yaml")

    (size,) = results["sizes"]
    assert size["entries"] == 120, "the synthetic knowledge base has the size asked for"
    assert size["phrasings"] > size["entries"]
    for figure in ("answer", "autocomplete", "floor_token_sort_ratio", "floor_wratio"):
        assert 0 < size[figure]["p50"] <= size[figure]["p95"] <= size[figure]["p99"]
    assert size["load_s"] > 0 and size["index_s"] > 0 and size["peak_mb"] > 0
    assert [(run_["askers"], run_["questions"], run_["rows"]) for run_ in results["logging"]] == [
        (1, 60, 60),
        (3, 60, 60),
    ], "every answered question was logged exactly once"
    assert results["idle"]["idle_mb"] > 0

    text = report.read_text(encoding="utf-8")
    for heading in ("## Answer latency", "## Load, index, memory and autocomplete", "## Query log", "Idle memory"):
        assert heading in text
    assert text.count("| 120 |") == 2, "one row per table for the one size"
    assert "python -m tools.bench" in text, "the report says how to reproduce it"


def test_the_report_benchmark_asks_for_what_the_commands_show():
    assert reports.GAPS_GROUPS == GAPS, "/querylog gaps"
    assert build_parser().parse_args(["logs", "gaps"]).limit == reports.CLI_GROUPS, "allybot logs gaps"
