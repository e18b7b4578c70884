"""``allybot kb learned --apply``: taught phrasings written into the knowledge YAML in place, for review in git.

Each phrasing goes at the end of its entry's ``questions:`` list, in the list's own indentation, as
a plain scalar when YAML reads it back as the same text (else double-quoted). ruamel.yaml's
round-trip parser finds where each entry's list ends (line and column); the new lines are inserted
into the file's text there and nothing else is rewritten, so comments, order, quoting and wrapping
of everything else stay byte for byte. A phrasing already present in the entry (as the matcher
normalises it: case, punctuation, acronyms) or taught twice is skipped. The edited folder is
loaded again before anything is written: if it would not pass ``kb check``, nothing is written.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from bot.knowledge.loader import load_knowledge
from bot.knowledge.model import KnowledgeBase
from bot.matching.normalize import Normalizer


class ApplyError(Exception):
    """The YAML could not be edited in place (a flow-style list, an entry without ``questions:``)."""


@dataclass
class Applied:
    added: dict[str, list[str]] = field(default_factory=dict)  # file -> "entry-id: phrasing"
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (entry id, phrasing) already present
    unknown: list[tuple[str, str]] = field(default_factory=list)  # entry no longer in the knowledge base

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.added.values())


def scalar(text: str) -> str:
    """``text`` as a YAML list item's value: plain when YAML reads it back unchanged, else a JSON string."""
    try:
        if yaml.safe_load(f"- {text}") == [text] and "\n" not in text:
            return text
    except yaml.YAMLError:
        pass
    return json.dumps(text, ensure_ascii=False)


def apply_learned(knowledge: KnowledgeBase, taught: Iterable[tuple[str, str]]) -> Applied:
    """Write ``taught`` (entry id, phrasing) into the YAML files of ``knowledge``'s folder; return what was done."""
    normalize = Normalizer(knowledge.glossary)
    seen = {entry.id: {normalize(p) for p in entry.phrasings} for entry in knowledge}
    result = Applied()
    wanted: dict[str, dict[str, list[str]]] = {}  # file -> entry id -> phrasings
    for entry_id, phrasing in taught:
        entry = knowledge.get(entry_id)
        if entry is None:
            result.unknown.append((entry_id, phrasing))
            continue
        key = normalize(phrasing)
        if key in seen[entry_id]:
            result.skipped.append((entry_id, phrasing))
            continue
        seen[entry_id].add(key)
        wanted.setdefault(entry.file, {}).setdefault(entry_id, []).append(phrasing)
    directory = Path(knowledge.directory)
    edited = {name: _insert(directory / Path(name).name, phrasings) for name, phrasings in wanted.items()}
    originals = {name: (directory / Path(name).name).read_text(encoding="utf-8") for name in edited}
    for name, text in edited.items():
        (directory / Path(name).name).write_text(text, encoding="utf-8")
    try:
        load_knowledge(directory)
    except Exception:
        for name, text in originals.items():
            (directory / Path(name).name).write_text(text, encoding="utf-8")
        raise
    for name, phrasings in wanted.items():
        result.added[Path(name).name] = [f"{i}: {p}" for i, texts in phrasings.items() for p in texts]
    return result


def _insert(path: Path, phrasings: dict[str, list[str]]) -> str:
    """The text of ``path`` with each entry's new phrasings after the last line of its ``questions:`` list."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    document = YAML(typ="rt").load(text)
    entries = document.get("entries") if isinstance(document, CommentedMap) else None
    if not isinstance(entries, CommentedSeq):
        raise ApplyError(f"{path.name}: no entries list")
    insertions: list[tuple[int, list[str]]] = []
    for entry in entries:
        if not isinstance(entry, CommentedMap) or entry.get("id") not in phrasings:
            continue
        questions = entry.get("questions")
        if not isinstance(questions, CommentedSeq) or not questions or questions.fa.flow_style():
            raise ApplyError(f"{path.name}: entry {entry['id']} has no block list of questions: add these by hand")
        last_line, column = questions.lc.data[len(questions) - 1]
        dash = lines[last_line][:column].rstrip()  # "      - " up to the value: the item's own indentation
        indent = dash[: len(dash) - 1] if dash.endswith("-") else " " * max(column - 2, 0)
        end = last_line + 1
        while end < len(lines) and lines[end].strip() and _indent(lines[end]) > len(indent):
            end += 1  # a value continued on more lines
        newline = "\r\n" if lines[last_line].endswith("\r\n") else "\n"
        insertions.append((end, [f"{indent}- {scalar(p)}{newline}" for p in phrasings[entry["id"]]]))
    for end, new in sorted(insertions, reverse=True):
        if end == len(lines) and lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        lines[end:end] = new
    return "".join(lines)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))
