"""Section headings of the source articles the knowledge base is curated from.

The seed articles are plain text with no markup, so headings are recognised by
shape: a short line that is not a sentence (no closing full stop), not a list
item, and not the publisher's furniture ("See also ...", disclaimers). Lines
ending in a colon are headings only when title-cased, which separates
"Benefits of Military Diplomacy in Counterterrorism:" from a list lead-in such
as "Key challenges include:".
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

MAX_HEADING_WORDS = 16
_FURNITURE = re.compile(r"^(see also\b|similar posts$)", re.IGNORECASE)
_LIST_ITEM = re.compile(r"^(\d+[.)]|[-•*])\s")
_SMALL_WORDS = frozenset({"a", "an", "and", "as", "at", "by", "for", "in", "of", "on", "or", "the", "to", "with"})


@dataclass(frozen=True, slots=True)
class SeedHeading:
    file: str
    line: int
    text: str


def heading_key(text: str) -> str:
    """Comparable form of a heading: curly quotes, case and a closing colon do not matter."""
    text = unicodedata.normalize("NFKC", text).replace("\u2019", "'").replace("\u2018", "'")
    return " ".join(text.rstrip(":").split()).casefold()


def _is_title_case(text: str) -> bool:
    words = [w for w in re.findall(r"[A-Za-z][\w'’.-]*", text) if w.lower() not in _SMALL_WORDS]
    return bool(words) and sum(w[0].isupper() for w in words) >= 0.8 * len(words)


def _looks_like_heading(line: str) -> bool:
    text = line.strip()
    if not text or _FURNITURE.match(text) or _LIST_ITEM.match(text):
        return False
    if not text[0].isalpha() or len(text.split()) > MAX_HEADING_WORDS:
        return False  # emoji-led disclaimers and paragraphs
    if text[-1] in ".?!;,":
        return False
    return not text.endswith(":") or _is_title_case(text)


def read_headings(path: Path) -> list[SeedHeading]:
    """Headings of one seed article, in order, with their 1-based line numbers."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [
        SeedHeading(path.name, number, line.strip().rstrip(":"))
        for number, line in enumerate(lines, start=1)
        if _looks_like_heading(line)
    ]


def read_all_headings(seeds_dir: Path) -> list[SeedHeading]:
    """Headings of every ``*.txt`` seed in ``seeds_dir``, file by file."""
    return [heading for path in sorted(seeds_dir.glob("*.txt")) for heading in read_headings(path)]
