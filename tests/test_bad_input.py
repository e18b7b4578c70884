"""Bad input (tests/data/bad_inputs.yaml) through every front end: nothing raises, nothing pings, nothing is lost.

Each case goes through the answer service with a real query log, the Discord handlers (/ask, an
ask-channel message, a mention), and, all at once, ``ask --batch`` and the console; a few through
``ask`` on its own. The oracle for the line-based front ends is the service itself: a line asked there
must get exactly the answer the service gives that line.

Decisions the tests pin down:
- Lone surrogates (byte 0xFF on a command line, a broken client) cannot be stored or sent as UTF-8: the
  service reads each as U+FFFD, as a UTF-8 decoder would, so the log row and every reply stay valid text.
- A question is read up to 2,000 characters; the log keeps exactly what was read, flagged when cut.
- User mentions are stored as "@user": the log holds no raw Discord user id, not even someone else's.
- ``ask --batch`` and the console are line-based: a case with line breaks is several questions there.
  Lines break where Python's text files break them (\\n, \\r\\n and a lone \\r), the same for a file and
  for stdin; other separators (\\x0b, \\x85, U+2028) stay inside a line.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import yaml

from bot.app import open_app
from bot.config import Settings
from bot.knowledge.model import KnowledgeBase
from bot.matching.matcher import Outcome, Thresholds
from bot.querylog.schema import QUERY_COLUMNS
from bot.querylog.store import QueryLog
from bot.service import MAX_QUESTION_CHARS, AnswerService, Asker, QuerySource
from tests.conftest import BUNDLED_KB, app_settings, run_cli
from tests.discord_harness import (
    ASK_CHANNEL_ID,
    BOT_ID,
    CHANNEL_ID,
    GUILD_ID,
    USER_ID,
    Harness,
    assert_sendable,
    message,
    option,
    slash,
    user,
)

CORPUS = Path(__file__).parent / "data" / "bad_inputs.yaml"
ISSUE_CATEGORIES = {
    "empty-and-whitespace-only",
    "lengths",
    "zero-width-bidi-combining",
    "emoji-only",
    "control-characters-and-nul",
    "lone-surrogates",
    "sql-metacharacters",
    "markdown-and-code-block-injection",
    "mentions",
    "urls",
    "other-scripts-and-languages",
}
EXPECTATIONS = {"refusal", "answer-or-suggest-or-unanswered"}
RAW_USER_ID = re.compile(rb"93\d{16}")  # every user id in the harness and the corpus starts 93, 18 digits
KB = ("--knowledge", str(BUNDLED_KB))
# A separate `ask` process costs half a second: undecodable argv bytes, and an empty question (exit 2).
ASK_ALONE = ("undecodable-byte-from-a-command-line", "spaces-and-tabs")


@dataclass(frozen=True)
class Case:
    id: str
    category: str
    text: str
    expect: str
    outcome: str | None
    entry: str | None
    stored: str  # what the log keeps, before the 2,000-character cut


def expand(spec: Any) -> str:
    """A case's text from its recipe: text, repeat x times, codepoints, or parts of those."""
    if isinstance(spec, str):
        return spec
    if "parts" in spec:
        return "".join(expand(part) for part in spec["parts"])
    if "repeat" in spec:
        return spec["repeat"] * spec["times"]
    if "codepoints" in spec:
        return "".join(map(chr, spec["codepoints"]))
    return spec["text"]


def load_cases() -> list[Case]:
    categories = yaml.safe_load(CORPUS.read_text(encoding="utf-8"))["categories"]
    cases = []
    for category, specs in categories.items():
        for spec in specs:
            text = expand(spec)
            cases.append(
                Case(
                    spec["id"],
                    category,
                    text,
                    spec["expect"],
                    spec.get("outcome"),
                    spec.get("entry"),
                    spec.get("stored", text),
                )
            )
    return cases


CASES = load_cases()
BY_ID = {case.id: case for case in CASES}


def by_id(case: Case) -> str:
    return case.id


def without_timing(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if k not in ("latency_ms", "query_id")}


def lines_of(text: str) -> list[str]:
    """How a line-based front end splits ``text`` (universal newlines, as Python's text files read)."""
    return re.split(r"\r\n|\r|\n", text)


def as_bytes(text: str) -> bytes:
    """What a broken producer writes: lone surrogates as the invalid UTF-8 bytes they would become."""
    return text.encode("utf-8", "surrogatepass")


def as_read(text: str) -> str:
    """What allybot reads back from those bytes (it decodes input with errors='replace')."""
    return as_bytes(text).decode("utf-8", "replace")


def query_rows(database: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(database) as db:
        return [
            dict(zip(QUERY_COLUMNS, row, strict=True))
            for row in db.execute(f"SELECT {', '.join(QUERY_COLUMNS)} FROM queries ORDER BY id")
        ]


@pytest.fixture(scope="module")
def service(bundled_kb: KnowledgeBase) -> AnswerService:
    """One index for the module (building one costs 50 ms), recording nothing: the oracle."""
    return AnswerService(bundled_kb)


# --- the corpus itself -------------------------------------------------------------------------------


def test_corpus_covers_every_category_of_the_issue():
    assert {c.category for c in CASES} == ISSUE_CATEGORIES
    assert len(BY_ID) == len(CASES), "case ids are unique"
    assert {c.expect for c in CASES} == EXPECTATIONS
    assert all(c.entry is None or c.outcome for c in CASES), "an entry is pinned with its outcome"
    lengths = {len(c.text) for c in CASES}
    assert {300, MAX_QUESTION_CHARS, MAX_QUESTION_CHARS + 1} <= lengths
    assert any(10_000 <= n < 11_000 for n in lengths) and max(lengths) >= 100_000
    texts = "".join(c.text for c in CASES)
    for marker in ("@everyone", "@here", "<@&", "<@!", "\0", "\u202e", "\u200b", "\u0301", "```", "https://"):
        assert marker in texts, marker
    assert any(0xD800 <= ord(ch) <= 0xDFFF for ch in texts), "lone surrogates"


# --- the answer service with a real query log ----------------------------------------------------------


def check_answer(case: Case, answer: Any) -> None:
    """The service's answer meets the case's expectation (``answer`` is an Answer or its JSON dict)."""

    def get(name: str) -> Any:
        return answer[name] if isinstance(answer, dict) else getattr(answer, name)

    outcome = Outcome(get("outcome"))
    entry = get("entry")
    entry_id = entry["id"] if isinstance(entry, dict) else getattr(entry, "id", None)
    assert 0 <= get("score") <= 100
    if case.expect == "refusal":
        assert get("problem") and outcome is Outcome.UNANSWERED and entry is None
    else:
        assert get("problem") is None
    if case.outcome:
        assert (outcome.value, entry_id) == (case.outcome, case.entry or entry_id)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def logged(tmp_path_factory) -> AsyncIterator[tuple[AnswerService, QueryLog]]:
    """The app recording into one real query log for all cases (a log per case would cost a second)."""
    async with open_app(app_settings(tmp_path_factory.mktemp("service"), BUNDLED_KB)) as app:
        assert app.query_log is not None
        yield app.service, app.query_log


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("case", CASES, ids=by_id)
async def test_service_answers_and_logs_exactly_once(case, logged):
    service, query_log = logged
    answer = service.answer(case.text, source=QuerySource.MENTION, asker=Asker(USER_ID, GUILD_ID, CHANNEL_ID))
    await asyncio.wait_for(query_log.flush(), 10)  # a row that cannot be written would block every later one
    check_answer(case, answer)
    assert answer.truncated == (len(case.text) > MAX_QUESTION_CHARS)
    assert len(answer.query) == min(len(case.text), MAX_QUESTION_CHARS)
    assert not re.search("[\ud800-\udfff]", answer.query), "lone surrogates are read as U+FFFD"
    [row] = [r for r in query_rows(query_log.path) if r["id"] == answer.query_id]
    assert row["question"] == case.stored[:MAX_QUESTION_CHARS], "stored as asked, bounded"
    assert row["question_truncated"] == answer.truncated
    assert (row["normalized"], row["outcome"], row["score"]) == (answer.normalized, answer.outcome, answer.score)
    assert row["entry_id"] == (answer.entry.id if answer.entry else None)
    database = b"".join(p.read_bytes() for p in query_log.path.parent.iterdir())  # with the write-ahead log
    assert not RAW_USER_ID.search(database), "no raw user id: not the asker's, not a mentioned one"


# --- Discord: /ask, an ask-channel message, a mention ------------------------------------------------------

DISCORD_SETTINGS = Settings(ask_channel_ids=frozenset({ASK_CHANNEL_ID}), cooldown_rate=1_000_000)
# Everything with any candidate becomes "did you mean", which quotes the question back: the echo must be inert.
ECHO_EVERYTHING = Thresholds(answer=100, suggest=0, margin=100)


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=["default", "echo-everything"])
async def harness(request, bundled_kb: KnowledgeBase, service: AnswerService) -> AsyncIterator[Harness]:
    """One logged-in bot per kind for all cases (a start costs 20 ms, a case 2 ms)."""
    chosen = service if request.param == "default" else AnswerService(bundled_kb, ECHO_EVERYTHING)
    started = await Harness.start(DISCORD_SETTINGS, chosen)
    yield started
    await started.stop()


def the_reply(calls: list[Any], channel_id: int) -> dict[str, Any]:
    [sent] = calls
    assert (sent.method, sent.path) == ("POST", f"/channels/{channel_id}/messages")
    assert "message_reference" in sent.json, "a reply to the question"
    return sent.json


def the_answer_looks_right(case: Case, payload: dict[str, Any], kb: KnowledgeBase, *, echoing: bool) -> None:
    if case.expect == "refusal":
        assert not payload.get("embeds") and "/topics" in payload["content"]
    elif case.outcome == "answered" and not echoing:
        entry = kb.get(case.entry or "")
        assert entry is not None and payload["embeds"][0]["title"] == entry.title


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("case", CASES, ids=by_id)
async def test_discord_replies_without_pings_within_limits(case, harness, bundled_kb):
    me = user(BOT_ID, "allybot", bot=True)
    asked = await harness.interact(slash("ask", option("question", case.text)))
    assert asked.json["type"] == 4
    replies = [
        asked.json["data"],
        the_reply(await harness.post(message(case.text, channel_id=ASK_CHANNEL_ID)), ASK_CHANNEL_ID),
        the_reply(await harness.post(message(f"<@{BOT_ID}> {case.text}", mentions=(me,))), CHANNEL_ID),
    ]
    echoing = harness.bot.service.matcher.thresholds == ECHO_EVERYTHING
    for payload in replies:
        assert_sendable(payload)
        the_answer_looks_right(case, payload, bundled_kb, echoing=echoing)


# --- the command line: ask --batch, the console, ask ---------------------------------------------------------


@pytest.fixture(scope="module")
def corpus_lines() -> list[str]:
    """The corpus as a line-based front end reads it: one question per line, in order."""
    return [line for case in CASES for line in lines_of(as_read(case.text))]


@pytest.fixture(scope="module")
def batch_run(tmp_path_factory) -> tuple[Any, Path]:
    """One ``ask --json --batch FILE`` process for the whole corpus, logging to its own file."""
    folder = tmp_path_factory.mktemp("batch")
    batch, database = folder / "corpus.txt", folder / "log.sqlite3"
    batch.write_bytes(as_bytes("\n".join(c.text for c in CASES) + "\n"))
    return run_cli("ask", "--json", "--batch", str(batch), *KB, "--db", str(database)), database


def test_batch_answers_every_line_in_order_as_the_service_does(batch_run, corpus_lines, service):
    result, database = batch_run
    assert result.returncode == 0 and result.stderr == "", result.stderr
    out = result.stdout.split("\n")  # JSON lines may hold U+2028 or \x85, which str.splitlines() would split on
    assert out.pop() == "", "every answer ends with a newline"
    assert len(out) == len(corpus_lines)
    for line, printed in zip(corpus_lines, out, strict=True):
        expected = service.answer(line, source=QuerySource.CLI).as_dict()
        assert without_timing(json.loads(printed)) == without_timing(expected)
    assert len(query_rows(database)) == len(corpus_lines)


def test_logs_report_prints_no_control_characters(batch_run):
    """A logged question reaches a moderator's terminal through ``logs``: no escape sequence may come with it."""
    printed = run_cli("logs", "recent", "--limit", "1000", "--db", str(batch_run[1]))
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.count("\n") >= len(CASES)
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]", printed.stdout)


def console_questions(lines: list[str]) -> Iterator[str]:
    """The lines the console asks as questions: stripped, not empty, not a :command or a choice number."""
    for line in (raw.strip() for raw in lines):
        if line and not line.startswith(":") and not line.isdigit():
            yield line


def test_console_answers_every_question_line_as_the_service_does(corpus_lines, service, tmp_path):
    database = tmp_path / "log.sqlite3"
    stdin = "\n".join(c.text for c in CASES) + "\n"
    result = run_cli("console", *KB, "--db", str(database), stdin=stdin, errors="surrogatepass")
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert result.stdout.startswith("allybot console:")
    logged = query_rows(database)
    asked = list(console_questions(corpus_lines))
    assert len(logged) == len(asked)
    for line, row in zip(asked, logged, strict=True):
        expected = service.answer(line, source=QuerySource.CONSOLE)
        assert row["source"] == "console"
        assert (row["normalized"], row["outcome"], row["question_truncated"]) == (
            expected.normalized,
            expected.outcome,
            expected.truncated,
        )


@pytest.mark.parametrize("case_id", ASK_ALONE)
def test_ask_alone(case_id, service, tmp_path):
    case, database = BY_ID[case_id], tmp_path / "log.sqlite3"
    result = run_cli("ask", "--json", *KB, "--db", str(database), case.text)
    if not case.text.strip():
        assert result.returncode == 2 and "the question is empty" in result.stderr
        return
    assert result.returncode == 0 and result.stderr == "", result.stderr
    check_answer(case, json.loads(result.stdout))
    expected = service.answer(case.text, source=QuerySource.CLI).as_dict()  # argv byte 0xFF reads as U+DCFF
    assert without_timing(json.loads(result.stdout)) == without_timing(expected)
    [row] = query_rows(database)
    assert row["question"] == case.stored[:MAX_QUESTION_CHARS]
