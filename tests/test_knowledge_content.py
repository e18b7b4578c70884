"""The bundled knowledge base meets the curation rules in knowledge/README.md."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from bot.frontends.discord_bot.render import entry_embed
from bot.frontends.terminal import WIDTH, render_entry
from bot.knowledge.seeds import heading_key, read_all_headings
from bot.knowledge.stats import compute_stats
from bot.service import Topic
from tests.conftest import ROOT, run_cli

SEEDS = ROOT.parent / "shared" / "seeds"
COPY_RUN = 8  # words in a row shared with a seed that count as copying

needs_seeds = pytest.mark.skipif(
    not SEEDS.is_dir() and not os.environ.get("CI"),
    reason=f"seed articles not found at {SEEDS} (they sit beside the repository in CI)",
)


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower().replace("’", "'"))


# British and American spellings, and hyphenation, count as the same word when looking for copying.
_SAME_WORD = {
    **dict.fromkeys(["defense", "defence"], "defence"),
    **dict.fromkeys(["defenses", "defences"], "defences"),
    **dict.fromkeys(["offense", "offence"], "offence"),
    **dict.fromkeys(["center", "centre"], "centre"),
    **dict.fromkeys(["centers", "centres"], "centres"),
    **dict.fromkeys(["program", "programme"], "programme"),
    **dict.fromkeys(["programs", "programmes"], "programmes"),
    **dict.fromkeys(["catalog", "catalogue"], "catalogue"),
    **dict.fromkeys(["gray", "grey"], "grey"),
    **dict.fromkeys(["skeptical", "sceptical"], "sceptical"),
    **dict.fromkeys(["maneuver", "manoeuvre"], "manoeuvre"),
    **dict.fromkeys(["judgment", "judgement"], "judgement"),
    **dict.fromkeys(["aging", "ageing"], "ageing"),
}


def spelling_key(word: str) -> str:
    """One form for a word's British and American spellings: defence/defense, organise/organize, ..."""
    word = _SAME_WORD.get(word, word)
    word = re.sub(r"(?<=\w\w)is(e|es|ed|ing|er|ers|ation|ations|ational)$", r"iz\1", word)  # organise, -isation
    word = re.sub(r"(?<=\w)ys(e|es|ed|ing)$", r"yz\1", word)  # analyse
    word = re.sub(r"(?<=\w\w)our(s|ed|ing|able|ite|ites|ful)?$", r"or\1", word)  # behaviour, neighbour
    word = re.sub(r"(?<=[a-z][aeiou])ll(ed|ing|er|ers)$", r"l\1", word)  # signalled, travelling, labelled
    return word


def copy_words(text: str) -> list[str]:
    """Words for the copy check: hyphenated compounds joined (co-operation = cooperation), spellings merged."""
    text = re.sub(r"(?<=[a-z0-9])[-‐‑–](?=[a-z0-9])", "", text.lower())
    return [spelling_key(w) for w in words(text)]


def summary_words(summary: str) -> list[str]:
    """The words of a summary as a reader counts them: list markers are not words."""
    return [token for token in summary.split() if re.search(r"\w", token)]


def test_size_and_categories(bundled_kb):
    assert 60 <= len(bundled_kb) <= 100
    assert 5 <= len(bundled_kb.categories) <= 10
    assert all(bundled_kb.in_category(c.id) for c in bundled_kb.categories), "no empty category"


def test_summaries_are_60_to_180_words(bundled_kb):
    lengths = {e.id: len(summary_words(e.summary)) for e in bundled_kb}
    assert {i: n for i, n in lengths.items() if not 60 <= n <= 180} == {}


def test_each_entry_has_at_least_six_phrasings(bundled_kb):
    counts = {e.id: len(e.questions) + len(e.aliases) + len(e.keywords) for e in bundled_kb}
    assert {i: n for i, n in counts.items() if n < 6} == {}


def test_related_links_go_both_ways(bundled_kb):
    one_way = [(e.id, r) for e in bundled_kb for r in e.related if e.id not in bundled_kb.entries[r].related]
    assert one_way == []


@needs_seeds
def test_summaries_do_not_copy_the_seeds(bundled_kb):
    seed_runs = set()
    for path in SEEDS.glob("*.txt"):
        w = copy_words(path.read_text(encoding="utf-8"))
        seed_runs |= {tuple(w[i : i + COPY_RUN]) for i in range(len(w) - COPY_RUN + 1)}
    copied = {}
    for entry in bundled_kb:
        w = copy_words(entry.summary)
        runs = [
            " ".join(w[i : i + COPY_RUN])
            for i in range(len(w) - COPY_RUN + 1)
            if tuple(w[i : i + COPY_RUN]) in seed_runs
        ]
        if runs:
            copied[entry.id] = runs
    assert copied == {}


@needs_seeds
def test_every_citation_is_a_real_seed_heading_and_every_heading_is_cited(bundled_kb):
    stats = compute_stats(bundled_kb, SEEDS)
    assert stats.unknown_citations == []
    assert [f"{h.file}:{h.line} {h.text}" for h in stats.uncited_headings] == []
    seed_files = {p.name for p in SEEDS.glob("*.txt")}
    assert {s.file for e in bundled_kb for s in e.sources} == seed_files


@needs_seeds
def test_kb_stats_command_reports_coverage():
    result = run_cli("kb", "stats", "--seeds", str(SEEDS))
    assert result.returncode == 0, result.stderr
    assert "Entries per category:" in result.stdout and "Entries citing each source document:" in result.stdout
    assert re.search(r"phrasings per entry: min \d+, median \d+", result.stdout)
    assert "Seed section headings no entry cites: 0" in result.stdout


@needs_seeds
def test_heading_detection_on_the_seeds():
    headings = read_all_headings(SEEDS)
    keys = {heading_key(h.text) for h in headings}
    assert heading_key("Role of NATO's Partnership for Peace (PfP)") in keys
    assert heading_key("Benefits of Military Diplomacy in Counterterrorism:") in keys
    assert not any(k.startswith(("see also", "key challenges include", "similar posts")) for k in keys)
    assert len({Path(h.file) for h in headings}) == 5


def test_the_copy_check_treats_spellings_and_hyphens_alike():
    assert copy_words("Defense organization co-operation analyze behavior signaling centers") == copy_words(
        "defence organisation cooperation analyse behaviour signalling centres"
    )
    assert copy_words("counter-terrorism programs") == copy_words("counterterrorism programmes")
    assert copy_words("the four hours") == ["the", "four", "hours"], "short words are left alone"


# --- written for the reader -----------------------------------------------------------------------

# Words that talk about the documents rather than the topic ("the article says", "according to the source").
# "Article 5" is the treaty clause, not a document.
_ABOUT_DOCUMENTS = re.compile(
    r"\b(articles?(?!\s+(?:5|five)\b)|sources?|authors?|seeds?|passages?|texts?|writers?)\b", re.IGNORECASE
)
_SAYS_WHAT_IS_MISSING = re.compile(r"\b(no|not|nothing|none|neither|nor|never|without|don't|doesn't)\b", re.IGNORECASE)


def sentences(summary: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+|\n+", summary) if s.strip()]


def test_summaries_speak_about_the_topic_not_about_the_documents(bundled_kb):
    """Attribution lives in the sources line. One short closing sentence may say what the articles leave out."""
    offending = {}
    for entry in bundled_kb:
        found = sentences(entry.summary)
        *body, last = found
        bad = [s for s in body if _ABOUT_DOCUMENTS.search(s)]
        if _ABOUT_DOCUMENTS.search(last) and not (
            _SAYS_WHAT_IS_MISSING.search(last) and len(summary_words(last)) <= 20
        ):
            bad.append(last)
        if bad:
            offending[entry.id] = bad
    assert offending == {}


def test_summaries_open_with_a_sentence_not_a_list(bundled_kb):
    assert [e.id for e in bundled_kb if e.summary.startswith("- ")] == []


def test_every_source_resolves_to_an_article_title(bundled_kb):
    untitled = [(e.id, s.file) for e in bundled_kb for s in e.sources if not s.title or s.title == s.file]
    assert untitled == []


@needs_seeds
def test_source_titles_are_the_articles_own_titles(bundled_kb):
    titles = {s.file: s.title for e in bundled_kb for s in e.sources}
    first_lines = {p.name: p.read_text(encoding="utf-8").splitlines()[0].strip() for p in SEEDS.glob("*.txt")}
    assert titles == first_lines


def list_entries(knowledge):
    return [e for e in knowledge if any(line.startswith("- ") for line in e.summary.split("\n"))]


def test_list_answers_are_bullets_in_the_embed(bundled_kb):
    listed = list_entries(bundled_kb)
    assert len(listed) >= 8, "list-like answers (success stories, readiness, partnerships...) are written as lists"
    for entry in listed:
        description = entry_embed(Topic.of(entry, bundled_kb)).description
        lines = description.split("\n")
        items = [line for line in lines if line.startswith("- ")]
        assert len(items) >= 2, entry.id  # a markdown list: Discord shows each "- " line as a bullet
        assert all(len(item) > 4 and not item.startswith("- -") for item in items), entry.id
        for line in lines:  # paragraphs arrive whole: no line breaks inside a sentence
            assert not line or line.startswith("- ") or line.rstrip()[-1] in ".:?!)", (entry.id, line)


def test_list_answers_read_as_plain_text_in_the_console(bundled_kb):
    for entry in list_entries(bundled_kb):
        text = render_entry(Topic.of(entry, bundled_kb))
        lines = text.split("\n")
        assert not [line for line in lines if line.lstrip().startswith("- ")], entry.id  # no raw markdown
        bullets = [line for line in lines if line.startswith("  • ")]
        assert len(bullets) == entry.summary.count("\n- ") + entry.summary.startswith("- "), entry.id
        assert max(len(line) for line in lines[2 : lines.index("Sources (AI-assisted articles):")]) <= WIDTH
