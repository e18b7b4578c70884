"""``allybot kb learned --apply``: taught phrasings written into real YAML files in place."""

from __future__ import annotations

from pathlib import Path

from bot.querylog.store import QueryLog
from tests.conftest import run_cli

COMMENTED = """\
# The tiny test knowledge base, with comments a moderator wrote.
entries:
  # Article 5 in all but name.
  - id: mutual-defence
    title: The mutual defence clause   # keep this title short
    category: treaty
    summary: >-
      A test summary about allies helping each other when one of them is attacked.
    questions:
      - if one ally is attacked do the others have to help?
      - 'what does the mutual defence clause require?'   # quoted on purpose
    aliases:
      - collective defence clause
    keywords:
      - mutual defence
    related: [founding-treaty]
    sources:
      - file: 002_ebfa9cfaf3d83150.txt
        section: The Foundations of NATO’s Collective Security Principle
"""


async def teach(database: Path, *taught: tuple[str, str]) -> None:
    query_log = QueryLog(database)
    await query_log.open()
    for phrasing, entry_id in taught:
        await query_log.learn(phrasing, phrasing.lower(), entry_id)
    await query_log.close()


async def test_apply_writes_new_phrasings_and_keeps_every_other_byte(kb_copy, tmp_path):
    entries = kb_copy / "entries.yaml"
    original = entries.read_text(encoding="utf-8")
    rest = original.split("\n", 1)[1].split("  - id: founding-treaty", 1)[1]
    entries.write_text(COMMENTED + "  - id: founding-treaty" + rest, encoding="utf-8")
    before = entries.read_text(encoding="utf-8")
    database = tmp_path / "log.sqlite3"
    await teach(
        database,
        ("do the allies have to defend each other", "mutual-defence"),
        ("Which treaty created the alliance", "founding-treaty"),  # already there, as the matcher reads it
        ("partner drills: who joins?", "partner-exercises"),  # needs quoting
    )
    done = run_cli("kb", "learned", str(kb_copy), "--db", str(database), "--apply")
    assert done.returncode == 0, done.stderr
    assert "2 phrasing(s) written" in done.stdout and "1 already in the YAML, skipped" in done.stdout
    after = entries.read_text(encoding="utf-8")
    new_lines = [line for line in after.splitlines(keepends=True) if line not in before.splitlines(keepends=True)]
    assert new_lines == ["      - do the allies have to defend each other\n", '      - "partner drills: who joins?"\n']
    assert after.replace(new_lines[0], "", 1).replace(new_lines[1], "", 1) == before, "nothing else changed"
    assert after.index(new_lines[0]) == after.index("    aliases:\n      - collective defence clause") - len(
        new_lines[0]
    ), "at the end of the entry's questions"
    checked = run_cli("kb", "check", str(kb_copy))
    assert checked.returncode == 0 and "OK" in checked.stdout, checked.stdout
    again = run_cli("kb", "learned", str(kb_copy), "--db", str(database), "--apply")
    assert "nothing new to write" in again.stdout and entries.read_text(encoding="utf-8") == after
    printed = run_cli("kb", "learned", str(kb_copy), "--db", str(database)).stdout
    assert "(nothing new to paste)" in printed


async def test_apply_refuses_a_flow_list_and_leaves_the_file_alone(kb_copy, tmp_path):
    entries = kb_copy / "entries.yaml"
    text = entries.read_text(encoding="utf-8").replace(
        "    questions:\n      - do partner countries train with the alliance?\n",
        "    questions: [do partner countries train with the alliance?]\n",
    )
    entries.write_text(text, encoding="utf-8")
    database = tmp_path / "log.sqlite3"
    await teach(database, ("allies training together", "partner-exercises"))
    done = run_cli("kb", "learned", str(kb_copy), "--db", str(database), "--apply")
    assert done.returncode == 2 and "add these by hand" in done.stderr
    assert entries.read_text(encoding="utf-8") == text
