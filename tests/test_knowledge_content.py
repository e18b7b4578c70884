"""The bundled knowledge base meets the curation rules in knowledge/README.md."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from bot.knowledge.seeds import heading_key, read_all_headings
from bot.knowledge.stats import compute_stats
from tests.conftest import ROOT, run_cli

SEEDS = ROOT.parent / "shared" / "seeds"
COPY_RUN = 8  # words in a row shared with a seed that count as copying

needs_seeds = pytest.mark.skipif(
    not SEEDS.is_dir() and not os.environ.get("CI"),
    reason=f"seed articles not found at {SEEDS} (they sit beside the repository in CI)",
)


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower().replace("’", "'"))


def test_size_and_categories(bundled_kb):
    assert 60 <= len(bundled_kb) <= 100
    assert 5 <= len(bundled_kb.categories) <= 10
    assert all(bundled_kb.in_category(c.id) for c in bundled_kb.categories), "no empty category"


def test_summaries_are_60_to_180_words(bundled_kb):
    lengths = {e.id: len(e.summary.split()) for e in bundled_kb}
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
        w = words(path.read_text(encoding="utf-8"))
        seed_runs |= {tuple(w[i : i + COPY_RUN]) for i in range(len(w) - COPY_RUN + 1)}
    copied = {}
    for entry in bundled_kb:
        w = words(entry.summary)
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
