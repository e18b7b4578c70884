"""Coverage figures for curators: how the knowledge base spreads over categories and sources,
and which seed sections no entry cites yet."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bot.knowledge.model import KnowledgeBase, Source
from bot.knowledge.seeds import SeedHeading, heading_key, read_all_headings


@dataclass(frozen=True, slots=True)
class KnowledgeStats:
    entries: int
    per_category: dict[str, int]
    per_source_file: dict[str, int]
    phrasings_min: int
    phrasings_median: float
    uncited_headings: list[SeedHeading]
    unknown_citations: list[tuple[str, Source]]  # (entry id, a cited section that is not a seed heading)
    seeds_read: bool


def compute_stats(knowledge: KnowledgeBase, seeds_dir: Path | None) -> KnowledgeStats:
    counts = [len(e.questions) + len(e.aliases) + len(e.keywords) for e in knowledge]
    per_source = Counter(file for e in knowledge for file in dict.fromkeys(s.file for s in e.sources))
    headings = read_all_headings(seeds_dir) if seeds_dir and seeds_dir.is_dir() else []
    known = {(h.file, heading_key(h.text)) for h in headings}
    cited = {(s.file, heading_key(s.section)) for e in knowledge for s in e.sources}
    return KnowledgeStats(
        entries=len(knowledge),
        per_category={c.id: len(knowledge.in_category(c.id)) for c in knowledge.categories},
        per_source_file=dict(sorted(per_source.items())),
        phrasings_min=min(counts, default=0),
        phrasings_median=statistics.median(counts) if counts else 0,
        uncited_headings=[h for h in headings if (h.file, heading_key(h.text)) not in cited],
        unknown_citations=[
            (e.id, s)
            for e in knowledge
            for s in e.sources
            if headings and (s.file, heading_key(s.section)) not in known
        ],
        seeds_read=bool(headings),
    )
