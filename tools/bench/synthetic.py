"""Synthetic knowledge bases and question mixes for the benchmarks.

A synthetic knowledge base keeps the bundled entries and adds generated ones of
the same shape: each takes a bundled entry as its template, swaps about a
quarter of its content words for words drawn from the whole knowledge base and
from a pool of invented names, and names a subject of its own ("... (Varnolde
programme)"), which every one of its phrasings mentions. Titles, phrasings and summaries therefore vary the way a grown
knowledge base would, vocabulary grows with size, and no two entries are copies.
Everything is seeded, so every run measures the same data.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import replace
from itertools import islice, product
from pathlib import Path

import yaml

from bot.knowledge.loader import (
    CATEGORIES_FILE,
    GLOSSARY_FILE,
    MAX_ALIAS,
    MAX_KEYWORD,
    MAX_QUESTION,
    MAX_SUMMARY,
    MAX_TITLE,
    SOURCES_FILE,
)
from bot.knowledge.model import Entry, KnowledgeBase

SWAP_SHARE = 0.25  # of a template's longer words, replaced in each generated entry
_SYLLABLES = "var nol kes tra mir den lo bar sen tik or vel gan rho shi ul pet zan cor im dra fen".split()
_SUBJECT_FORMS = ("{title} ({name} programme)", "{name}: {title}", "{title} in the {name} region")
_PHRASING_FORMS = ("{text} {name}", "{name}: {text}", "{text} (in {name})", "{text} for {name}")
_WORD = re.compile(r"[A-Za-z]{5,}")


FILE_ENTRIES = 4000  # entries per YAML file: about 10 MB at the bundled entries' size


def read_questions(path: Path) -> list[str]:
    """The question texts of a question-set YAML (``questions: [{q: ...}, ...]``, as in tests/data)."""
    return [item["q"] for item in yaml.safe_load(path.read_text(encoding="utf-8"))["questions"]]


def invented_names() -> Iterator[str]:
    """Pronounceable made-up words ("Varnol", "Kestrami", ...): two, three, then four syllables."""
    for count in (2, 3, 4):
        for parts in product(_SYLLABLES, repeat=count):
            yield "".join(parts).capitalize()


def synthetic_knowledge(base: KnowledgeBase, size: int, seed: int = 7) -> KnowledgeBase:
    """``base`` plus generated entries up to ``size`` entries in all."""
    rng = random.Random(seed)
    templates = list(base)
    pool = sorted({w.casefold() for e in templates for p in e.phrasings for w in _WORD.findall(p)})
    names = list(islice(invented_names(), max(size, 1)))
    rng.shuffle(names)
    entries = {e.id: e for e in templates}
    for number, name in enumerate(names[: max(size - len(templates), 0)]):
        template = templates[number % len(templates)]
        entry = _variant(template, name, f"{template.id[:40]}-{number}", pool + names, rng)
        entries[entry.id] = entry
    return replace(base, entries=entries, version=f"{base.version}-x{size}", directory="")


def _variant(template: Entry, name: str, entry_id: str, pool: list[str], rng: random.Random) -> Entry:
    words = sorted({w.casefold() for p in (*template.phrasings, template.summary) for w in _WORD.findall(p)})
    swaps = {w: rng.choice(pool).casefold() for w in rng.sample(words, int(len(words) * SWAP_SHARE))}

    def swap(text: str) -> str:
        return _WORD.sub(lambda m: swaps.get(m.group(0).casefold(), m.group(0)), text)

    def texts(items: tuple[str, ...], limit: int) -> tuple[str, ...]:
        variants = (rng.choice(_PHRASING_FORMS).format(text=swap(t), name=name)[:limit].strip() for t in items)
        return tuple(dict.fromkeys(variants))

    return replace(
        template,
        id=entry_id,
        title=rng.choice(_SUBJECT_FORMS).format(title=swap(template.title), name=name)[:MAX_TITLE].strip(),
        summary=f"{name}. {swap(template.summary)}"[:MAX_SUMMARY],
        questions=texts(template.questions, MAX_QUESTION),
        aliases=texts(template.aliases, MAX_ALIAS),
        keywords=texts(template.keywords, MAX_KEYWORD),
        related=(),
    )


def write_knowledge(knowledge: KnowledgeBase, directory: Path) -> Path:
    """Write ``knowledge`` as a knowledge-base folder (one YAML file per category) and return it."""
    directory.mkdir(parents=True, exist_ok=True)
    categories = [{"id": c.id, "title": c.title, "description": c.description} for c in knowledge.categories]
    _dump({"categories": categories}, directory / CATEGORIES_FILE)
    glossary = knowledge.glossary
    acronyms = [{"acronym": a.acronym, "meaning": a.meaning, "match_case": a.match_case} for a in glossary.acronyms]
    synonyms: dict[str, list[str]] = {}
    for variant, canonical in glossary.synonyms.items():
        synonyms.setdefault(canonical, []).append(variant)
    _dump(
        {"acronyms": acronyms, "synonyms": [{"canonical": c, "variants": v} for c, v in synonyms.items()]},
        directory / GLOSSARY_FILE,
    )
    titles = {s.file: s.title for e in knowledge for s in e.sources}
    _dump({"sources": titles}, directory / SOURCES_FILE)
    for category in knowledge.categories:
        entries = [_entry_fields(e) for e in knowledge.in_category(category.id)]
        for part, start in enumerate(range(0, max(len(entries), 1), FILE_ENTRIES), 1):
            name = category.id if part == 1 else f"{category.id}-{part}"  # files stay under the loader's size limit
            _dump({"entries": entries[start : start + FILE_ENTRIES]}, directory / f"{name}.yaml")
    return directory


def _entry_fields(entry: Entry) -> dict[str, object]:
    fields = {
        "id": entry.id,
        "title": entry.title,
        "category": entry.category,
        "summary": entry.summary,
        "questions": list(entry.questions),
        "aliases": list(entry.aliases),
        "keywords": list(entry.keywords),
        "related": list(entry.related),
        "sources": [{"file": s.file, "section": s.section} for s in entry.sources],
    }
    return {key: value for key, value in fields.items() if value}


def _dump(data: object, path: Path) -> None:
    text = yaml.dump(data, Dumper=yaml.CSafeDumper, allow_unicode=True, sort_keys=False, width=120)
    path.write_text(text, encoding="utf-8")


def question_mix(knowledge: KnowledgeBase, asked: list[str], count: int, seed: int = 11) -> list[str]:
    """``count`` questions: 40% from ``asked`` (the labelled question set, out-of-scope included),
    20% each of hits (an entry's question with one word left out), typos (two letters
    changed) and near-misses (the first half of one entry's question, the second of another's).
    """
    rng = random.Random(seed)
    entries = list(knowledge)

    def hit() -> str:
        words = rng.choice(rng.choice(entries).phrasings).split()
        if len(words) > 2:
            del words[rng.randrange(len(words))]
        return " ".join(words)

    def typo() -> str:
        letters = list(hit())
        for _ in range(2):
            letters[rng.randrange(len(letters))] = rng.choice("abcdefghijklmnopqrstuvwxyz")
        return "".join(letters)

    def near_miss() -> str:
        first, second = (rng.choice(rng.choice(entries).phrasings).split() for _ in range(2))
        return " ".join(first[: len(first) // 2] + second[len(second) // 2 :])

    makers = [lambda: rng.choice(asked)] * 2 + [hit, typo, near_miss]
    return [rng.choice(makers)() for _ in range(count)]
