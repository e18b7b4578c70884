"""The loader reports every kind of problem, each with file, line and entry id, all at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.knowledge.loader import MAX_FILE_BYTES, MAX_PROBLEMS, KnowledgeError, Problem, load_knowledge
from tests.conftest import run_cli


def problems_for(directory: Path) -> list[Problem]:
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(directory)
    return caught.value.problems


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"fixture text {old!r} not found"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def line_of(path: Path, needle: str) -> int:
    return next(n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in line)


def test_tiny_knowledge_base_loads(tiny_kb):
    assert list(tiny_kb.entries) == ["mutual-defence", "founding-treaty", "peace-partnership", "partner-exercises"]
    entry = tiny_kb.get("mutual-defence")
    assert entry.related == ("founding-treaty",)
    assert entry.sources[0].file == "002_ebfa9cfaf3d83150.txt"
    assert entry.file == "entries.yaml" and entry.line == 2
    assert [c.id for c in tiny_kb.categories] == ["treaty", "partners"]
    assert len(tiny_kb.version) == 12


def test_yaml_syntax_error_names_file_and_line(kb_copy):
    entries = kb_copy / "entries.yaml"
    edit(entries, "    title: The founding treaty", "    title: [unclosed")
    [problem] = problems_for(kb_copy)
    assert problem.file == "entries.yaml"
    assert problem.line >= line_of(entries, "[unclosed")
    assert "YAML syntax error" in problem.message


def test_non_utf8_file_is_reported_with_its_line(kb_copy):
    entries = kb_copy / "entries.yaml"
    expected_line = line_of(entries, "summary: A test summary about the treaty")
    data = entries.read_bytes().replace(b"A test summary about the treaty", b"A test summary \xff\xfe the treaty")
    entries.write_bytes(data)
    [problem] = problems_for(kb_copy)
    assert problem.file == "entries.yaml" and "UTF-8" in problem.message
    assert problem.line == expected_line


def test_duplicate_id(kb_copy):
    edit(kb_copy / "entries.yaml", "id: partner-exercises", "id: peace-partnership")
    messages = [str(p) for p in problems_for(kb_copy)]
    assert any("[peace-partnership]: duplicate id: already used at entries.yaml:" in m for m in messages)


def test_dangling_and_self_related(kb_copy):
    edit(kb_copy / "entries.yaml", "related: [founding-treaty]", "related: [founding-treaty, no-such-entry]")
    edit(kb_copy / "entries.yaml", "related: [mutual-defence]", "related: [founding-treaty]")
    messages = {(p.entry_id, p.message) for p in problems_for(kb_copy)}
    assert ("mutual-defence", "related 'no-such-entry' is not an entry id") in messages
    assert ("founding-treaty", "related lists the entry itself") in messages


def test_missing_and_empty_fields(kb_copy):
    entries = kb_copy / "entries.yaml"
    edit(
        entries,
        "    category: partners\n    summary: A test summary about joint",
        "    summary: A test summary about joint",
    )
    edit(entries, "    title: Partnership for Peace", '    title: "  "')
    problems = problems_for(kb_copy)
    by_entry = {(p.entry_id, p.message) for p in problems}
    assert ("partner-exercises", "missing required field 'category'") in by_entry
    assert ("peace-partnership", "title is empty") in by_entry
    empty = next(p for p in problems if p.message == "title is empty")
    assert empty.line == line_of(entries, 'title: "  "')


def test_wrong_types(kb_copy):
    entries = kb_copy / "entries.yaml"
    edit(entries, "    title: The founding treaty", "    title: 1949")
    edit(
        entries,
        "      - which treaty created the alliance?\n"
        "      - what does the founding treaty say about international law?",
        "      which treaty created the alliance",
    )
    edit(entries, "    related: []", "    related: nothing")
    messages = {(p.entry_id, p.message) for p in problems_for(kb_copy)}
    assert ("founding-treaty", "title must be text, not int (quote it)") in messages
    assert ("peace-partnership", "related must be a list of text") in messages
    assert any(e == "founding-treaty" and m.startswith("questions must be a list") for e, m in messages)


def test_over_long_fields(kb_copy):
    edit(kb_copy / "entries.yaml", "    title: The founding treaty", "    title: " + "t" * 101)
    edit(kb_copy / "entries.yaml", "      - founding treaty", "      - " + "k" * 51)
    messages = {(p.entry_id, p.message) for p in problems_for(kb_copy)}
    assert ("founding-treaty", "title is 101 characters long; the limit is 100") in messages
    assert ("founding-treaty", "keywords item is 51 characters long; the limit is 50") in messages


def test_unknown_keys_and_duplicate_keys(kb_copy):
    entries = kb_copy / "entries.yaml"
    edit(
        entries,
        "    category: partners\n    summary: A test summary about the partnership",
        "    category: partners\n    colour: blue\n    category: partners\n"
        "    summary: A test summary about the partnership",
    )
    problems = problems_for(kb_copy)
    unknown = next(p for p in problems if "unknown field 'colour'" in p.message)
    assert unknown.entry_id == "peace-partnership" and unknown.line == line_of(entries, "colour: blue")
    assert any(p.message == "field 'category' appears twice" for p in problems)


def test_duplicate_phrasing_after_normalisation(kb_copy):
    # "PfP" expands to the other entry's title, so the matcher could not tell them apart.
    edit(kb_copy / "entries.yaml", "      - collective defence clause", "      - what is PfP??")
    edit(
        kb_copy / "entries.yaml",
        "    questions:\n      - how do non-member",
        "    questions:\n      - What is Partnership for Peace\n      - how do non-member",
    )
    [problem] = problems_for(kb_copy)
    assert problem.entry_id in {"mutual-defence", "peace-partnership"}
    assert "phrasing 'what is partnership for peace' is also claimed by" in problem.message


def test_keyword_may_be_shared_but_not_another_entrys_name(kb_copy):
    edit(kb_copy / "entries.yaml", "      - partner exercises", "      - partner exercises\n      - mutual defence")
    assert load_knowledge(kb_copy).get("partner-exercises").keywords[-1] == "mutual defence"  # shared keyword: fine
    edit(
        kb_copy / "entries.yaml",
        "      - mutual defence\n    sources:",  # the shared keyword added above
        "      - collective defence clause\n    sources:",
    )
    [problem] = problems_for(kb_copy)
    assert problem.entry_id == "partner-exercises"
    assert problem.message == "keyword 'collective defence clause' is a title or phrasing of 'mutual-defence'"


def test_unknown_category_and_no_phrasings(kb_copy):
    edit(
        kb_copy / "entries.yaml",
        "    category: partners\n    summary: A test summary about joint",
        "    category: weather\n    summary: A test summary about joint",
    )
    edit(
        kb_copy / "entries.yaml",
        "    questions:\n      - do partner countries train with the alliance?\n"
        "    keywords:\n      - partner exercises\n",
        "",
    )
    messages = {(p.entry_id, p.message) for p in problems_for(kb_copy)}
    assert ("partner-exercises", "unknown category 'weather' (see categories.yaml)") in messages
    assert ("partner-exercises", "needs at least one phrasing in questions, aliases or keywords") in messages


def test_every_problem_is_reported_at_once(kb_copy):
    edit(kb_copy / "entries.yaml", "id: partner-exercises", "id: Bad Id")
    edit(kb_copy / "entries.yaml", "related: [mutual-defence]", "related: [ghost]")
    (kb_copy / "broken.yaml").write_text("entries:\n  - id: x\n    title: [\n", encoding="utf-8")
    problems = problems_for(kb_copy)
    assert {p.file for p in problems} == {"entries.yaml", "broken.yaml"}
    assert len(problems) == 3
    assert problems == sorted(problems)


def test_a_file_cut_off_while_being_saved_fails_to_load_unless_cut_between_entries(kb_copy):
    """What a reload may read while an editor is still writing: the file up to any line end, or mid-line.

    Cut between two entries it is a valid, smaller file (a reload then lists the entries it removed);
    anywhere else loading fails and names the file, so the running bot keeps its knowledge base.
    """
    entries = kb_copy / "entries.yaml"
    raw = entries.read_bytes()
    ends = [i + 1 for i, byte in enumerate(raw) if byte == ord("\n")]
    middles = [(start + end) // 2 for start, end in zip([0, *ends], ends, strict=False)]
    loaded = []
    for cut in sorted({0, *ends, *middles}):
        entries.write_bytes(raw[:cut])
        try:
            load_knowledge(kb_copy)
        except KnowledgeError as error:
            assert "entries.yaml" in {p.file for p in error.problems}
        else:
            loaded.append(raw[cut:])
    # Only before the last two entries (nothing relates to them) and at the real end; never mid-line.
    assert [rest[:7] for rest in loaded] == [b"  - id:", b"  - id:", b""]


def test_problems_on_one_line_with_and_without_an_entry_id_are_sorted(tmp_path):
    """A one-line flow-style file: a file-level and an entry problem share line 1 (sorting them crashed)."""
    (tmp_path / "entries.yaml").write_text("{entries: [{id: x, title: 5}], extra: 1}\n", encoding="utf-8")
    problems = problems_for(tmp_path)
    assert [(p.line, p.entry_id) for p in problems][:2] == [(1, None), (1, "x")]


def test_missing_directory():
    [problem] = problems_for(Path("/nonexistent/knowledge"))
    assert problem.message == "knowledge directory not found"


def test_kb_check_command_exit_codes(kb_copy):
    clean = run_cli("kb", "check", str(kb_copy))
    assert clean.returncode == 0, clean.stderr
    assert clean.stdout.count("\n") == 1 and "OK, 4 entries in 2 categories" in clean.stdout
    edit(kb_copy / "entries.yaml", "related: [mutual-defence]", "related: [ghost]")
    edit(kb_copy / "entries.yaml", "    title: The founding treaty", "    title: 5")
    broken = run_cli("kb", "check", str(kb_copy))
    assert broken.returncode == 1
    assert "2 problem(s)" in broken.stdout
    assert "entries.yaml:" in broken.stdout and "[founding-treaty]: related 'ghost' is not an entry id" in broken.stdout
    assert "Traceback" not in broken.stdout + broken.stderr


# --- source titles (sources.yaml) and summary layout ---------------------------------------------------


def test_sources_carry_their_article_title(tiny_kb):
    [source] = tiny_kb.get("mutual-defence").sources
    assert source.title == "Understanding NATO and Collective Security in Modern Defense Strategies"
    assert str(source) == f"{source.title} › The Foundations of NATO’s Collective Security Principle"


def test_a_cited_file_without_a_title_is_a_problem(kb_copy):
    edit(kb_copy / "sources.yaml", "  000_bff5e09d6bbe2468.txt:", "  000_other.txt:")
    [problem] = problems_for(kb_copy)
    assert (problem.file, problem.entry_id) == ("entries.yaml", "peace-partnership")
    assert problem.message == "source '000_bff5e09d6bbe2468.txt' has no title: add it to sources.yaml"


def test_without_sources_yaml_every_cited_file_is_reported_once(kb_copy):
    (kb_copy / "sources.yaml").unlink()
    messages = sorted(p.message for p in problems_for(kb_copy))
    assert messages == [
        "source '000_bff5e09d6bbe2468.txt' has no title: add it to sources.yaml",
        "source '002_ebfa9cfaf3d83150.txt' has no title: add it to sources.yaml",
    ]


def test_sources_yaml_rejects_unknown_keys_empty_titles_and_duplicates(kb_copy):
    sources = kb_copy / "sources.yaml"
    edit(sources, "sources:\n", "titles: {}\nsources:\n")
    edit(sources, '"NATO Counterterrorism Strategies: An In-Depth Analysis of Allied Security Measures"', '""')
    text = sources.read_text(encoding="utf-8")
    sources.write_text(text + '  002_ebfa9cfaf3d83150.txt: "Again"\n', encoding="utf-8")
    found = {(p.file, p.line, p.message) for p in problems_for(kb_copy)}
    assert (
        "sources.yaml",
        line_of(sources, "titles:"),
        "unknown top-level key 'titles' (expected only 'sources')",
    ) in found
    assert ("sources.yaml", line_of(sources, "000_bff"), "title of '000_bff5e09d6bbe2468.txt' is empty") in found
    assert (
        "sources.yaml",
        line_of(sources, "Again"),
        "source file '002_ebfa9cfaf3d83150.txt' is titled twice",
    ) in found


def test_a_broken_sources_yaml_is_reported_once_not_once_per_entry(kb_copy):
    (kb_copy / "sources.yaml").write_text("sources: [\n", encoding="utf-8")
    [problem] = problems_for(kb_copy)
    assert problem.file == "sources.yaml" and "YAML syntax error" in problem.message


def test_summary_lines_are_reflowed_into_paragraphs_and_list_items(kb_copy):
    edit(
        kb_copy / "entries.yaml",
        "    summary: A test summary about the treaty that created the alliance.",
        "    summary: |-\n      A test summary about the treaty\n      that created the alliance:\n"
        "      - one item that is\n        wrapped\n      - another item\n\n      A closing line.",
    )
    summary = load_knowledge(kb_copy).get("founding-treaty").summary
    assert summary == (
        "A test summary about the treaty that created the alliance:\n\n"
        "- one item that is wrapped\n- another item\n\nA closing line."
    )


def test_a_file_of_thousands_of_broken_entries_lists_the_first_200_and_counts_the_rest(kb_copy):
    """Was: every problem collected and printed (2.5 million lines, 2.1 GB, 127 s for a 50 MB file)."""
    (kb_copy / "junk.yaml").write_text("entries:\n" + "".join(f"  - {{id: junk-{n}}}\n" for n in range(5000)))
    result = run_cli("kb", "check", str(kb_copy))
    assert result.returncode == 1 and result.stderr == ""
    header, *listed, more = result.stdout.splitlines()
    total = int(header.split()[0])
    assert total >= 3 * 5000, "each broken entry counted"
    assert len(listed) == MAX_PROBLEMS and all(line.startswith("  junk.yaml:") for line in listed)
    assert more == f"  ... and {total - MAX_PROBLEMS} more (only the first {MAX_PROBLEMS} are listed)"
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(kb_copy)
    assert (len(caught.value.problems), caught.value.total) == (MAX_PROBLEMS, total)


def test_a_file_over_the_size_limit_is_refused_unread(kb_copy):
    with (kb_copy / "huge.yaml").open("wb") as file:
        file.truncate(MAX_FILE_BYTES + 1)  # sparse: costs no disk, and is never read
    [problem] = problems_for(kb_copy)
    assert str(problem) == (
        "huge.yaml: cannot read file: it is 33,554,433 bytes; the limit is 32 MB (33,554,432 bytes)"
    )
