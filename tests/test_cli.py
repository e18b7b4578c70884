"""The command-line contract, run as a real subprocess: text, JSON, batch, console, and user mistakes."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time

from tests.conftest import TINY_KB, run_cli

KB = ("--knowledge", str(TINY_KB))
# The tiny knowledge base has two partner entries; a wide margin makes "partners and the alliance" too close to call.
WIDE_MARGIN = {"ALLYBOT_ANSWER_THRESHOLD": "25", "ALLYBOT_SUGGEST_THRESHOLD": "10", "ALLYBOT_ANSWER_MARGIN": "50"}


def test_ask_prints_a_readable_answer():
    result = run_cli("ask", *KB, "if one ally is attacked do the others have to help?")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("The mutual defence clause\n")
    assert "Sources (AI-assisted articles):\n  Understanding NATO and Collective Security in Modern" in result.stdout
    assert "› The\n    Foundations of NATO’s Collective Security Principle" in result.stdout  # wrapped, indented
    assert ".txt" not in result.stdout, "readers see article titles, not file names"
    assert "1. The founding treaty [founding-treaty]" in result.stdout


def test_ask_json_is_one_object_with_the_contract_fields():
    result = run_cli("ask", "--json", *KB, "partners and the alliance", **WIDE_MARGIN)
    assert result.returncode == 0, result.stderr
    [line] = result.stdout.splitlines()
    data = json.loads(line)
    assert data["query"] == "partners and the alliance"
    assert data["outcome"] == "suggested" and data["answered"] is False
    assert 0 <= data["score"] <= 100
    assert {"id", "title", "summary", "related", "sources"} <= set(data["entry"])
    assert [set(a) for a in data["alternatives"]] == [{"id", "title", "score"}] * len(data["alternatives"])
    assert data["entry"]["id"] not in [a["id"] for a in data["alternatives"]]
    for source in data["entry"]["sources"]:
        assert set(source) == {"file", "section", "title"}
        assert source["file"].endswith(".txt") and source["title"] and source["title"] != source["file"]


def test_unanswered_json_has_no_entry():
    data = json.loads(run_cli("ask", "--json", *KB, "best pizza in town").stdout)
    assert (data["outcome"], data["answered"], data["entry"], data["alternatives"]) == ("unanswered", False, None, [])


def test_batch_from_a_file_keeps_order_and_count(tmp_path):
    questions = ["PfP", "best pizza in town", "", "partners and the alliance", "which treaty created the alliance?"]
    batch = tmp_path / "questions.txt"
    batch.write_text("\n".join(questions) + "\n", encoding="utf-8")
    result = run_cli("ask", "--json", "--batch", str(batch), *KB, **WIDE_MARGIN)
    assert result.returncode == 0, result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [a["query"] for a in answers] == questions
    assert [a["outcome"] for a in answers] == ["answered", "unanswered", "unanswered", "suggested", "answered"]
    assert answers[2]["problem"] == "The question is empty."


def test_batch_from_stdin_matches_one_by_one_answers():
    questions = ["PfP", "mutual defense", "partner exercises"]
    batch = run_cli("ask", "--json", "--batch", "-", *KB, stdin="\n".join(questions))
    together = [json.loads(line) for line in batch.stdout.splitlines()]
    one_by_one = [json.loads(run_cli("ask", "--json", *KB, q).stdout) for q in questions]
    strip = lambda answer: {k: v for k, v in answer.items() if k not in ("latency_ms", "query_id")}  # noqa: E731
    assert [strip(a) for a in together] == [strip(a) for a in one_by_one]


def assert_one_line_error(result, *fragments: str) -> None:
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr


def test_user_mistakes_get_one_clear_line():
    assert_one_line_error(run_cli("ask", *KB, "   "), "the question is empty")
    assert_one_line_error(run_cli("ask", *KB), "the question is empty")
    assert_one_line_error(run_cli("ask", "--knowledge", "/no/such/dir", "hello"), "knowledge directory not found")
    assert_one_line_error(run_cli("ask", "--frobnicate", "x"), "unrecognized arguments: --frobnicate")
    assert_one_line_error(run_cli("ask", *KB, "--batch", "/no/such/file.txt"), "cannot read /no/such/file.txt")
    assert_one_line_error(run_cli("ask", *KB, "--batch", "-", "question"), "not both")
    assert_one_line_error(run_cli("kb"), "required")


def test_bad_setting_is_one_line_naming_it():
    assert_one_line_error(run_cli("ask", *KB, "hi", ALLYBOT_HOME_GUILD_ID="home"), "ALLYBOT_HOME_GUILD_ID")


def test_run_without_token_or_terminal_exits_2():
    assert_one_line_error(run_cli("run", *KB), "no DISCORD_TOKEN", "allybot console")
    assert_one_line_error(run_cli(*()), "no DISCORD_TOKEN")  # bare `python -m bot` is `run`


def read_until(fd: int, marker: bytes, timeout: float = 30.0) -> bytes:
    seen, deadline = b"", time.monotonic() + timeout
    while marker not in seen and time.monotonic() < deadline:
        if select.select([fd], [], [], 0.2)[0]:
            try:
                seen += os.read(fd, 4096)
            except OSError:  # the child closed the terminal
                break
    return seen


def test_bare_command_on_a_terminal_starts_the_console(tmp_path):
    main, child = pty.openpty()
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("ALLYBOT_", "DISCORD_"))}
    environment["ALLYBOT_KNOWLEDGE_DIR"] = str(TINY_KB)
    environment["ALLYBOT_DB_PATH"] = str(tmp_path / "log.sqlite3")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot"], stdin=child, stdout=child, stderr=child, env=environment, cwd=TINY_KB
    )
    os.close(child)
    try:
        banner = read_until(main, b"> ")
        assert b"No DISCORD_TOKEN set: starting the offline console" in banner
        assert b"allybot console: 4 topics" in banner
        os.write(main, b"wat is pfp\n")
        assert b"Partnership for Peace" in read_until(main, b"\n> ")
        os.write(main, b":quit\n")
        assert process.wait(timeout=30) == 0
    finally:
        process.kill()
        os.close(main)


def test_console_answers_questions_from_stdin():
    script = "\n".join(
        [
            ":help",
            "if one ally is attacked do the others have to help?",
            "1",
            "partners and the alliance",
            "2",
            "best pizza in town",
            ":topics",
            ":topics treaty",
            ":topic peace-partnership",
            "7",
            ":nonsense",
            ":quit",
            "never read",
        ]
    )
    result = run_cli("console", *KB, stdin=script + "\n", **WIDE_MARGIN)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("allybot console: 4 topics")
    assert ":topics [CATEGORY]" in out  # :help
    assert "The mutual defence clause\n" in out and "The founding treaty\n===" in out  # answer, then choice 1
    assert "Did you mean:" in out and "Partnership for Peace\n===" in out  # suggestion opened by number
    assert "I don't have an answer for that yet; moderators can see it." in out
    assert "Treaty [treaty] (2)" in out and "  The founding treaty [founding-treaty]" in out
    assert "There is no such choice" in out
    assert "Unknown command :nonsense" in out
    assert "never read" not in out and "> " not in out  # no prompt when stdin is not a terminal


def test_console_ends_cleanly_at_end_of_input():
    result = run_cli("console", *KB, stdin="PfP")
    assert result.returncode == 0 and "Partnership for Peace\n===" in result.stdout


def test_console_reload_rereads_the_knowledge_folder():
    """A failing :reload, with file and line, is in test_knowledge_faults.py (it breaks files between lines)."""
    result = run_cli("console", "--knowledge", str(TINY_KB), stdin=":reload\nPfP\n")
    assert "Reloaded (version" in result.stdout and "0 added, 0 removed, 0 edited" in result.stdout
    assert "Partnership for Peace\n===" in result.stdout
