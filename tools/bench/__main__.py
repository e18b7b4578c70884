"""``python -m tools.bench [--quick] [--out FILE] [--knowledge DIR] [--questions FILE]`` from a checkout."""

from __future__ import annotations

import argparse
from pathlib import Path

from tools.bench.run import CHECKOUT, FULL, QUICK, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.bench", description="Measure speed and memory; print a table and write BENCHMARKS.md."
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, a few seconds (no file written by default)")
    parser.add_argument("--out", type=Path, metavar="FILE", help="where to write the report (default: BENCHMARKS.md)")
    parser.add_argument(
        "--knowledge",
        type=Path,
        default=CHECKOUT / "knowledge",
        metavar="DIR",
        help="knowledge base (default: knowledge/)",
    )
    parser.add_argument(
        "--questions",
        type=Path,
        default=CHECKOUT / "tests" / "data" / "questions_tune.yaml",
        metavar="FILE",
        help="question set to ask (default: tests/data/questions_tune.yaml)",
    )
    parser.add_argument(
        "--reports",
        action="store_true",
        help="only the moderator reports on synthetic logs of 100,000 and 1,000,000 rows (writes REPORTS_BENCH.md)",
    )
    args = parser.parse_args(argv)
    if args.reports:
        from tools.bench import reports

        reports.run(args.quick, args.out or (None if args.quick else CHECKOUT / "REPORTS_BENCH.md"), CHECKOUT)
        return 0
    output = args.out or (None if args.quick else CHECKOUT / "BENCHMARKS.md")
    run(QUICK if args.quick else FULL, output, args.knowledge, args.questions)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
