"""Load and validate a knowledge-base folder, reporting every problem at once.

A curator fixing a broken edit wants the whole list, each with file, line and
entry id, not one error per run. So validation never stops at the first
problem: it collects :class:`Problem` objects and raises :class:`KnowledgeError`
with all of them if there is any. YAML is parsed with a loader that remembers
the line of every mapping, key and list item, which is what makes
"alliance.yaml:42 [article-5]: ..." possible.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.knowledge.model import Acronym, Category, Entry, Glossary, KnowledgeBase, Source
from bot.matching.normalize import Normalizer

CATEGORIES_FILE = "categories.yaml"
GLOSSARY_FILE = "glossary.yaml"
SOURCES_FILE = "sources.yaml"
ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

# Limits follow Discord: titles become autocomplete choice names (100 chars),
# summaries become embed descriptions (well under 4096, leaving room for the rest).
MAX_ID = 64
MAX_TITLE = 100
MAX_SUMMARY = 1500
MAX_QUESTION = 300
MAX_ALIAS = 100
MAX_KEYWORD = 50
MAX_SOURCE_TITLE = 200
# Bounds on absurd input: a file larger than this is refused unread (the largest synthetic benchmark file, 50,000
# entries in six categories, is about 25 MB); at most this many problems are kept and shown, the rest only counted;
# nesting deeper than this is reported at its line (Python's recursion, not YAML, is what it would exhaust).
MAX_FILE_BYTES = 32 * 1024 * 1024
MAX_PROBLEMS = 200
MAX_NESTING = 50


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    """One thing wrong with the knowledge base, located as precisely as the YAML allows."""

    file: str
    line: int
    entry_id: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where} [{self.entry_id}]: {self.message}" if self.entry_id else f"{where}: {self.message}"


class KnowledgeError(Exception):
    """The knowledge base is invalid; ``problems`` lists everything found."""

    def __init__(self, problems: list[Problem], total: int | None = None) -> None:
        # By place; a file-level problem (no entry id) may share a line with an entry's, so no None < str.
        self.problems = sorted(problems, key=lambda p: (p.file, p.line, p.entry_id or "", p.message))
        self.total = max(total or 0, len(self.problems))  # problems found; only the first MAX_PROBLEMS are kept
        super().__init__(f"{self.total} problem(s) in the knowledge base")

    @property
    def not_shown(self) -> int:
        """Problems found beyond the ones kept in ``problems``."""
        return self.total - len(self.problems)


class _Problems(list):
    """The problems found so far: the first MAX_PROBLEMS kept, all counted (a broken 50 MB file has millions)."""

    total = 0

    def append(self, problem: Problem) -> None:
        self.total += 1
        if len(self) < MAX_PROBLEMS:
            super().append(problem)


# --- YAML with line numbers -------------------------------------------------------------------


class _Mapping(dict):
    line: int = 0
    key_lines: dict[Any, int]
    duplicate_keys: list[tuple[Any, int]]


class _Sequence(list):
    line: int = 0
    item_lines: list[int]


class _LineLoader(yaml.CSafeLoader):
    """SafeLoader that records where each mapping, key and list item starts."""


def _construct(loader: _LineLoader, node: yaml.Node) -> Any:
    """A node's value; a value PyYAML cannot build ("2001-02-30", "!!int abc") is a located YAML error."""
    try:
        return loader.construct_object(node, deep=True)
    except (ValueError, TypeError, AttributeError, OverflowError) as error:
        raise yaml.constructor.ConstructorError(
            None, None, f"cannot read the value {node.value!r:.60}: {error}", node.start_mark
        ) from error


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> _Mapping:
    mapping = _Mapping()
    mapping.line = node.start_mark.line + 1
    mapping.key_lines, mapping.duplicate_keys = {}, []
    for key_node, value_node in node.value:
        key = _construct(loader, key_node)
        line = key_node.start_mark.line + 1
        if not isinstance(key, str | int | float | bool) and key is not None:
            raise yaml.constructor.ConstructorError(None, None, "a key must be plain text", key_node.start_mark)
        if key in mapping:
            mapping.duplicate_keys.append((key, line))
        mapping[key] = _construct(loader, value_node)
        mapping.key_lines[key] = line
    return mapping


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> _Sequence:
    sequence = _Sequence(_construct(loader, item) for item in node.value)
    sequence.line = node.start_mark.line + 1
    sequence.item_lines = [item.start_mark.line + 1 for item in node.value]
    return sequence


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def _line_of(container: Any, key: Any = None) -> int:
    if key is not None and isinstance(container, _Mapping):
        return container.key_lines.get(key, container.line)
    return getattr(container, "line", 0)


# --- reading files ------------------------------------------------------------------------------


class _Collector:
    """Problems for one file; knows which file and entry it is talking about."""

    def __init__(self, problems: list[Problem], file: str) -> None:
        self._problems, self.file = problems, file

    def add(self, line: int, message: str, entry_id: str | None = None) -> None:
        self._problems.append(Problem(self.file, line, entry_id, message))


_UNREADABLE = object()  # _parse's answer for a file whose problem is already reported


def _parse(raw: bytes, report: _Collector) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        report.add(line, f"not valid UTF-8 (byte {error.start}): save the file as UTF-8")
        return _UNREADABLE
    if text and not text.endswith("\n"):
        # A file read while an editor is still writing it is mostly valid YAML, cut off mid-line; the
        # missing line break is what gives it away (a cut between entries is a valid, smaller file).
        report.add(
            text.count("\n") + 1,
            "no line break at the end of the file: was it cut off while being saved? (if not, add one)",
        )
    try:
        return yaml.load(text, Loader=_LineLoader)  # a SafeLoader subclass: no arbitrary objects
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        reason = getattr(error, "problem", None) or str(error)
        report.add(mark.line + 1 if mark else 0, f"YAML syntax error: {reason}")
    except RecursionError:  # lists or mappings nested hundreds deep: building them recurses
        report.add(_too_deep(text), f"nested too deeply: more than {MAX_NESTING} levels of lists and mappings")
    except (ValueError, TypeError, AttributeError, OverflowError) as error:  # a document that is one bad value
        report.add(0, f"cannot read the file's value: {error}")
    return _UNREADABLE


def _too_deep(text: str) -> int:
    """The line where nesting first passes MAX_NESTING levels (0 if it never does), from the parser's events,
    which come without recursion."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.CSafeLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_NESTING:
                    assert event.start_mark is not None  # the parser marks every event it yields
                    return event.start_mark.line + 1
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        pass
    return 0


def _top_level(data: Any, key: str, report: _Collector) -> list | None:
    """The list under the file's single top-level ``key``, or None after reporting why not."""
    if data is None:
        report.add(0, f"the file is empty: expected a top-level '{key}:' list")
        return None
    if not isinstance(data, dict):
        report.add(_line_of(data), f"expected a mapping with a top-level '{key}:' list")
        return None
    for unknown in sorted(set(data) - {key}, key=str):
        report.add(_line_of(data, unknown), f"unknown top-level key '{unknown}' (expected only '{key}')")
    items = data.get(key)
    if not isinstance(items, list):
        report.add(_line_of(data, key), f"'{key}' must be a list")
        return None
    return items


# --- field checks -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    kind: str  # "text", "texts" or "sources"
    required: bool
    max_length: int = 0


_ENTRY_FIELDS = {
    f.name: f
    for f in (
        _Field("id", "text", True, MAX_ID),
        _Field("title", "text", True, MAX_TITLE),
        _Field("category", "text", True, MAX_ID),
        _Field("summary", "text", True, MAX_SUMMARY),
        _Field("questions", "texts", False, MAX_QUESTION),
        _Field("aliases", "texts", False, MAX_ALIAS),
        _Field("keywords", "texts", False, MAX_KEYWORD),
        _Field("related", "texts", False, MAX_ID),
        _Field("sources", "sources", True),
    )
}


def _check_text(value: Any, where: str, line: int, max_length: int, report: Callable[[int, str], None]) -> str:
    if not isinstance(value, str):
        hint = " (quote it)" if isinstance(value, int | float | bool) else ""
        report(line, f"{where} must be text, not {type(value).__name__}{hint}")
        return ""
    text = value.strip()
    if not text:
        report(line, f"{where} is empty")
    elif len(text) > max_length:
        report(line, f"{where} is {len(text)} characters long; the limit is {max_length}")
    return text


def _check_texts(value: Any, name: str, line: int, max_length: int, report: Callable[[int, str], None]) -> tuple:
    if not isinstance(value, list):
        report(line, f"{name} must be a list of text")
        return ()
    lines = getattr(value, "item_lines", [line] * len(value))
    texts = (
        _check_text(v, f"{name} item", item_line, max_length, report) for v, item_line in zip(value, lines, strict=True)
    )
    return tuple(t for t in texts if t)


def _check_sources(value: Any, line: int, report: Callable[[int, str], None]) -> tuple[Source, ...]:
    if not isinstance(value, list) or not value:
        report(line, "sources must be a non-empty list of {file, section}")
        return ()
    sources = []
    for item in value:
        item_line = _line_of(item) or line
        if not isinstance(item, dict):
            report(item_line, "each source must be a mapping with 'file' and 'section'")
            continue
        for unknown in sorted(set(item) - {"file", "section"}, key=str):
            report(_line_of(item, unknown), f"unknown key '{unknown}' in a source")
        file = _check_text(item.get("file"), "source file", item_line, 200, report)
        section = _check_text(item.get("section"), "source section", item_line, 300, report)
        if file and section:
            sources.append(Source(file, section))
    return tuple(sources)


def _build_entry(raw: Any, report: _Collector) -> Entry | None:
    if not isinstance(raw, dict):
        report.add(_line_of(raw), "each entry must be a mapping of fields")
        return None
    entry_id = raw.get("id") if isinstance(raw.get("id"), str) else None

    def complain(line: int, message: str) -> None:
        report.add(line, message, entry_id)

    for key, line in getattr(raw, "duplicate_keys", []):
        complain(line, f"field '{key}' appears twice")
    for unknown in sorted(set(raw) - set(_ENTRY_FIELDS), key=str):
        complain(_line_of(raw, unknown), f"unknown field '{unknown}'")
    values: dict[str, Any] = {}
    for spec in _ENTRY_FIELDS.values():
        line = _line_of(raw, spec.name)
        if raw.get(spec.name) is None:
            if spec.required:
                complain(_line_of(raw), f"missing required field '{spec.name}'")
            continue
        if spec.kind == "text":
            values[spec.name] = _check_text(raw[spec.name], spec.name, line, spec.max_length, complain)
        elif spec.kind == "texts":
            values[spec.name] = _check_texts(raw[spec.name], spec.name, line, spec.max_length, complain)
        else:
            values[spec.name] = _check_sources(raw[spec.name], line, complain)
    if values.get("summary"):
        values["summary"] = reflow_summary(values["summary"])
    if values.get("id") and not ID_PATTERN.match(values["id"]):
        complain(_line_of(raw, "id"), "id must be lower-case words joined by hyphens, e.g. 'article-5'")
    if not any(values.get(name) for name in ("questions", "aliases", "keywords")):
        complain(_line_of(raw), "needs at least one phrasing in questions, aliases or keywords")
    if not values.get("id"):
        return None
    # Kept even when other fields are broken, so cross-entry checks do not report it as missing.
    values = {"title": "", "category": "", "summary": "", **values}
    return Entry(**values, file=report.file, line=_line_of(raw))


def reflow_summary(text: str) -> str:
    """A summary as readers get it: each paragraph and each "- " list item on one line.

    Curators wrap long lines in the YAML; a line that starts with "- " begins a list item, a
    blank line ends a paragraph, any other line continues the one before. Items of one list
    are joined by a line break, paragraphs and lists by a blank line.
    """
    groups: list[list[str]] = []  # a paragraph is [text]; a list is ["- item", "- item", ...]
    current: list[str] = []  # the lines of the paragraph or item being read
    same_list = False  # whether an item read now continues the last list (no blank line since)

    def finish() -> None:
        nonlocal current, same_list
        if current:
            piece = " ".join(current)
            if piece.startswith("- ") and same_list and groups and groups[-1][-1].startswith("- "):
                groups[-1].append(piece)
            else:
                groups.append([piece])
            same_list, current = True, []

    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            finish()
            same_list = False
        elif line.startswith("- "):
            finish()
            current = [line]
        else:
            current.append(line)
    finish()
    return "\n\n".join("\n".join(group) for group in groups)


def _read_source_titles(data: Any, report: _Collector) -> dict[str, str] | None:
    """``sources.yaml``: the title readers see for each cited article file; None when it cannot be used."""
    if not isinstance(data, dict) or not isinstance(data.get("sources"), dict):
        report.add(_line_of(data), "expected a top-level 'sources:' mapping of article file name to its title")
        return None
    for unknown in sorted(set(data) - {"sources"}, key=str):
        report.add(_line_of(data, unknown), f"unknown top-level key '{unknown}' (expected only 'sources')")
    mapping = data["sources"]
    for key, line in getattr(mapping, "duplicate_keys", []):
        report.add(line, f"source file '{key}' is titled twice")
    titles = {}
    for file, title in mapping.items():
        line = _line_of(mapping, file)
        name = _check_text(file, "source file name", line, 200, report.add)
        text = _check_text(title, f"title of '{file}'", line, MAX_SOURCE_TITLE, report.add)
        if name and text:
            titles[name] = text
    return titles


def _add_titles(entries: list[Entry], titles: dict[str, str], problems: list[Problem]) -> list[Entry]:
    """Entries whose sources carry their article's title; every cited file must have one."""
    untitled: set[str] = set()
    titled = []
    for entry in entries:
        for source in entry.sources:
            if source.file not in titles and source.file not in untitled:
                untitled.add(source.file)
                problems.append(
                    Problem(
                        entry.file,
                        entry.line,
                        entry.id,
                        f"source '{source.file}' has no title: add it to {SOURCES_FILE}",
                    )
                )
        sources = tuple(dataclasses.replace(s, title=titles.get(s.file, "")) for s in entry.sources)
        titled.append(dataclasses.replace(entry, sources=sources))
    return titled


def _read_categories(data: Any, report: _Collector) -> list[Category]:
    categories = []
    for raw in _top_level(data, "categories", report) or []:
        line = _line_of(raw)
        if not isinstance(raw, dict) or set(raw) != {"id", "title", "description"}:
            report.add(line, "each category needs exactly: id, title, description")
            continue
        texts = [
            _check_text(raw[k], f"category {k}", _line_of(raw, k), 200, report.add)
            for k in ("id", "title", "description")
        ]
        if all(texts):
            categories.append(Category(*texts))
    return categories


def _read_glossary(data: Any, report: _Collector) -> Glossary:
    if data is None or not isinstance(data, dict):
        report.add(_line_of(data), "expected top-level 'acronyms:' and 'synonyms:' lists")
        return Glossary()
    for unknown in sorted(set(data) - {"acronyms", "synonyms"}, key=str):
        report.add(_line_of(data, unknown), f"unknown top-level key '{unknown}'")
    acronyms, seen_acronyms = [], set()
    for raw in data.get("acronyms") or []:
        if not isinstance(raw, dict) or not {"acronym", "meaning"} <= set(raw) <= {"acronym", "meaning", "match_case"}:
            report.add(_line_of(raw), "each acronym needs 'acronym' and 'meaning' (and optionally 'match_case')")
            continue
        acronym = _check_text(raw["acronym"], "acronym", _line_of(raw), 20, report.add)
        meaning = _check_text(raw["meaning"], "meaning", _line_of(raw), 100, report.add)
        if acronym.casefold() in seen_acronyms:
            report.add(_line_of(raw), f"acronym '{acronym}' is defined twice")
        elif acronym and meaning:
            seen_acronyms.add(acronym.casefold())
            acronyms.append(Acronym(acronym, meaning, raw.get("match_case") is True))
    synonyms: dict[str, str] = {}
    for raw in data.get("synonyms") or []:
        if not isinstance(raw, dict) or set(raw) != {"canonical", "variants"}:
            report.add(_line_of(raw), "each synonym needs exactly 'canonical' and 'variants'")
            continue
        canonical = _check_text(raw["canonical"], "canonical", _line_of(raw), 100, report.add)
        for variant in _check_texts(raw["variants"], "variants", _line_of(raw, "variants"), 100, report.add):
            if variant.casefold() in synonyms:
                report.add(_line_of(raw), f"variant '{variant}' already belongs to '{synonyms[variant.casefold()]}'")
            synonyms[variant.casefold()] = canonical
    return Glossary(tuple(acronyms), synonyms)


# --- cross-entry checks -------------------------------------------------------------------------


def _check_links(entries: list[Entry], categories: list[Category], problems: list[Problem]) -> None:
    ids: dict[str, Entry] = {}
    category_ids = {c.id for c in categories}
    for entry in entries:
        if entry.id in ids:
            first = ids[entry.id]
            problems.append(
                Problem(entry.file, entry.line, entry.id, f"duplicate id: already used at {first.file}:{first.line}")
            )
        else:
            ids[entry.id] = entry
        if category_ids and entry.category and entry.category not in category_ids:
            problems.append(
                Problem(
                    entry.file, entry.line, entry.id, f"unknown category '{entry.category}' (see {CATEGORIES_FILE})"
                )
            )
    for entry in entries:
        for target in entry.related:
            if target == entry.id:
                problems.append(Problem(entry.file, entry.line, entry.id, "related lists the entry itself"))
            elif target not in ids:
                problems.append(Problem(entry.file, entry.line, entry.id, f"related '{target}' is not an entry id"))


def _check_phrasings(entries: list[Entry], normalize: Normalizer, problems: list[Problem]) -> None:
    """A title, question or alias may belong to one entry only, or the matcher cannot choose.

    Keywords may be shared (they are weak hints), but never be another entry's title,
    question or alias: that would make the other entry's own name ambiguous.
    """
    owners: dict[str, str] = {}
    for entry in entries:
        for phrasing in {normalize(p) for p in (entry.title, *entry.questions, *entry.aliases)}:
            owner = owners.setdefault(phrasing, entry.id)
            if phrasing and owner != entry.id:
                problems.append(
                    Problem(entry.file, entry.line, entry.id, f"phrasing '{phrasing}' is also claimed by '{owner}'")
                )
    for entry in entries:
        for keyword in {normalize(k) for k in entry.keywords}:
            owner = owners.get(keyword, entry.id)
            if owner != entry.id:
                problems.append(
                    Problem(
                        entry.file, entry.line, entry.id, f"keyword '{keyword}' is a title or phrasing of '{owner}'"
                    )
                )


@dataclass(frozen=True)
class KnowledgeFiles:
    """The raw bytes of a knowledge-base folder's YAML files, read once and fingerprinted."""

    directory: Path
    files: tuple[tuple[str, bytes], ...]  # (file name, contents), sorted by name
    unreadable: tuple[Problem, ...]  # files that exist but could not be read
    digest: str  # SHA-256 over every name and content: equal digests, equal knowledge bases

    @property
    def version(self) -> str:
        return self.digest[:12]


class _NotAFile(Exception):
    """A ``*.yaml`` name that is not a regular file allybot can read; the message says what it is."""


def _kind(mode: int) -> str:
    kinds = (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISCHR, "a device"),
        (stat.S_ISBLK, "a device"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((f"it is {name}, not a regular file" for test, name in kinds if test(mode)), "not a regular file")


def read_knowledge_files(directory: Path | str) -> KnowledgeFiles:
    """Read every ``*.yaml`` file in ``directory`` (no parsing); raise :class:`KnowledgeError` if it is missing."""
    directory = Path(directory)
    if not directory.is_dir():
        raise KnowledgeError([Problem(str(directory), 0, None, "knowledge directory not found")])
    files, unreadable = [], []
    digest = hashlib.sha256()
    for path in sorted(directory.glob("*.y*ml")):
        try:
            # Looked at before reading: opening a FIFO would wait for a writer forever, /dev/zero never ends.
            info = path.stat()
            if not stat.S_ISREG(info.st_mode):
                raise _NotAFile(_kind(info.st_mode))
            if info.st_size > MAX_FILE_BYTES:
                limit = f"{MAX_FILE_BYTES // 2**20} MB ({MAX_FILE_BYTES:,} bytes)"
                raise _NotAFile(f"it is {info.st_size:,} bytes; the limit is {limit}")
            raw = path.read_bytes()
        except _NotAFile as error:
            unreadable.append(Problem(path.name, 0, None, f"cannot read file: {error}"))
            continue
        except OSError as error:
            reason = error.strerror or str(error)
            if error.errno == errno.ELOOP:
                reason = "a symbolic link loop"
            elif error.errno == errno.ENOENT and path.is_symlink():
                reason = f"a broken symbolic link (to {os.readlink(path)})"
            unreadable.append(Problem(path.name, 0, None, f"cannot read file: {reason}"))
            continue
        files.append((path.name, raw))
        digest.update(path.name.encode() + b"\0" + raw)
    return KnowledgeFiles(directory, tuple(files), tuple(unreadable), digest.hexdigest())


def load_knowledge(directory: Path | str) -> KnowledgeBase:
    """Read and validate every ``*.yaml`` file in ``directory``; raise :class:`KnowledgeError` listing all problems."""
    return parse_knowledge(read_knowledge_files(directory))


def parse_knowledge(source: KnowledgeFiles) -> KnowledgeBase:
    """Parse and validate files already read; raise :class:`KnowledgeError` listing all problems."""
    problems = _Problems()
    for problem in source.unreadable:
        problems.append(problem)
    entries: list[Entry] = []
    categories: list[Category] = []
    glossary = Glossary()
    titles: dict[str, str] | None = {}  # None: sources.yaml is broken (and reported), so no title checks
    for name, raw in source.files:
        report = _Collector(problems, name)
        data = _parse(raw, report)
        if data is _UNREADABLE:
            titles = None if name == SOURCES_FILE else titles
            continue
        if name == CATEGORIES_FILE:
            categories = _read_categories(data, report)
        elif name == GLOSSARY_FILE:
            glossary = _read_glossary(data, report)
        elif name == SOURCES_FILE:
            titles = _read_source_titles(data, report)
        else:
            entries += filter(None, (_build_entry(raw, report) for raw in _top_level(data, "entries", report) or []))
    if not entries and not problems:
        problems.append(
            Problem(str(source.directory), 0, None, "no entries found (expected *.yaml files with 'entries:')")
        )
    if titles is not None:
        entries = _add_titles(entries, titles, problems)
    _check_links(entries, categories, problems)
    _check_phrasings(entries, Normalizer(glossary), problems)
    if problems:
        raise KnowledgeError(problems, problems.total)
    return KnowledgeBase(
        entries={entry.id: entry for entry in entries},
        categories=tuple(categories) or _categories_from(entries),
        glossary=glossary,
        version=source.version,
        directory=str(source.directory),
    )


def _categories_from(entries: list[Entry]) -> tuple[Category, ...]:
    """Without a categories file, every category an entry names is browsable under its own id."""
    names = dict.fromkeys(entry.category for entry in entries)
    return tuple(Category(name, name.replace("-", " ").capitalize(), "") for name in names)
