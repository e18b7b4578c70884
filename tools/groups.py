"""``python -m tools.groups [FILE ...]``: how well the review queue's groups match intents, on a labelled log.

The log is built from question sets (default: every ``tests/data/questions_*.yaml``): each question
is asked several times, worded a little differently each time (as typed, in lower case with "??", with
chat filler in front, with two letters swapped, without its punctuation), by different askers, through
the real answer service into a real SQLite query log; every answered row gets a 👎 so that every
question is a gap. A question's label is its expected entry, or for an out-of-scope question its own
text. Then, over the distinct wordings:

- purity: the share of wordings whose group's most common label is their own (1.0: no group mixes intents);
- completeness: the share of wordings in the group holding most of their label (1.0: no intent is split).

Both are reported for the grouping by wording alone (before, and with the word-by-word check) and by wording
and best candidate (``gap_groups``, what ``/querylog gaps``, ``logs gaps`` and the review queue show), against
the entry labels and against "the same question" (its variants only).
"""

from __future__ import annotations

import asyncio
import random
import re
import sqlite3
import sys
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.app import open_app
from bot.config import Settings
from bot.querylog import reports
from bot.querylog.store import stored_question
from bot.service import Asker, QuerySource

CHECKOUT = Path(__file__).resolve().parents[1]
FILLER = ("hey bot, ", "quick q: ", "sorry if dumb but ", "anyone know ")


def variants(question: str, rng: random.Random) -> list[str]:
    """The ways one question is asked in the labelled log (distinct, the question itself first)."""
    plain = re.sub(r"[?!.]+\s*$", "", question.strip())
    words = plain.split()
    long_words = [i for i, w in enumerate(words) if len(w) >= 6 and w.isalpha()]
    typo = plain
    if long_words:
        i = rng.choice(long_words)
        w = words[i]
        j = rng.randrange(1, len(w) - 2)
        words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
        typo = " ".join(words)
    forms = [question, plain.lower() + "??", rng.choice(FILLER) + plain.lower(), typo, plain]
    return list(dict.fromkeys(forms))


@dataclass(frozen=True)
class Labelled:
    wording: str
    label: str  # the expected entry, or the question for out-of-scope
    question: str  # which question it is a variant of


def labelled_questions(files: Iterable[Path], seed: int = 3) -> list[Labelled]:
    rng = random.Random(seed)
    found: dict[str, Labelled] = {}
    for path in files:
        for item in yaml.safe_load(path.read_text(encoding="utf-8"))["questions"]:
            expect = item.get("expect")
            label = (expect[0] if isinstance(expect, list) else expect) or f"out-of-scope: {item['q']}"
            for wording in variants(item["q"], rng):
                found.setdefault(wording, Labelled(wording, label, item["q"]))
    return list(found.values())


def scores(groups: Sequence[Sequence[str]], label_of: dict[str, str]) -> tuple[float, float]:
    """(purity, completeness) of ``groups`` (lists of wordings) against ``label_of``, over the wordings grouped."""
    total = sum(len(g) for g in groups)
    pure = sum(Counter(label_of[w] for w in g).most_common(1)[0][1] for g in groups)
    in_group: defaultdict[str, Counter[int]] = defaultdict(Counter)
    for index, group in enumerate(groups):
        for wording in group:
            in_group[label_of[wording]][index] += 1
    complete = sum(c.most_common(1)[0][1] for c in in_group.values())
    return pure / total, complete / total


async def measure(files: Sequence[Path], knowledge: Path) -> dict[str, dict[str, tuple[float, float]]]:
    """Build the labelled log and score the groupings: {name: {"entry"/"question": (purity, completeness)}}."""
    labelled = labelled_questions(files)
    with tempfile.TemporaryDirectory(prefix="allybot-groups-") as scratch:
        settings = Settings(
            knowledge_dir=knowledge, db_path=Path(scratch) / "log.sqlite3", snapshot_dir=None, retention_days=None
        )
        async with open_app(settings) as app:
            assert app.query_log is not None
            for number, item in enumerate(labelled):
                answer = app.service.answer(item.wording, source=QuerySource.SLASH, asker=Asker(number))
                if answer.answered:
                    app.service.record_feedback(answer.query_id, number, "down")
            await app.query_log.flush()
            db = await app.query_log.connection()
            before = await reports.off_loop(db, _by_wording_only)
            words = await reports.off_loop(db, _by_wording)
            now = [list(g.questions) for g in await reports.gap_groups(db, app.service.matcher, None, limit=None)]
    by_entry = {stored_question(item.wording): item.label for item in labelled}  # as the log keeps it
    by_question = {stored_question(item.wording): item.question for item in labelled}
    return {
        name: {"entry": scores(groups, by_entry), "question": scores(groups, by_question), "groups": (len(groups), 0)}
        for name, groups in (("before", before), ("words", words), ("now", now))
    }


def _by_wording_only(connection: sqlite3.Connection) -> list[list[str]]:
    """The grouping of before: near-duplicate content words only."""
    clusters = reports._clusters(reports._gap_texts(connection, None), word_check=False)
    return [[w for text in cluster.texts for w in text.wordings] for cluster in clusters]


def _by_wording(connection: sqlite3.Connection) -> list[list[str]]:
    """``gap_groups``' clusters by wording (word by word too), before they are divided by best candidate: no matcher."""
    return [list(group.questions) for group in reports.group_gaps(reports._gap_texts(connection, None), None, None)]


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    files = [Path(a) for a in args] or sorted((CHECKOUT / "tests" / "data").glob("questions_*.yaml"))
    result = asyncio.run(measure(files, CHECKOUT / "knowledge"))
    wordings = len(labelled_questions(files))
    print(f"labelled log: {wordings:,} distinct wordings from {len(files)} question files")
    print("| grouping | groups | purity (entry) | completeness (entry) | purity (question) | completeness (question) |")
    print("| --- | --- | --- | --- | --- | --- |")
    rows = (
        ("before", "before: token_sort_ratio >= 85 only"),
        ("words", "+ word by word"),
        ("now", "+ same best candidate (gap_groups)"),
    )
    for name, label in rows:
        r = result[name]
        print(
            f"| {label} | {r['groups'][0]:,} | {r['entry'][0]:.3f} | {r['entry'][1]:.3f}"
            f" | {r['question'][0]:.3f} | {r['question'][1]:.3f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
