"""The knowledge base as the rest of allybot sees it: immutable, validated data.

Everything here is built by :mod:`bot.knowledge.loader`; nothing else creates
these objects from files, so every instance has passed validation.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field


class _PickledByFields:
    """Pickled as the class and its field values, rebuilt by calling the class.

    A matcher snapshot holds tens of thousands of entries and sources; the state methods
    dataclasses give frozen slotted classes look the fields up again for every object,
    which was a third of loading a 10,000-entry snapshot (0.30 of 0.94 s).
    """

    __slots__ = ()
    __match_args__: tuple[str, ...]  # set by @dataclass: the fields, in the order __init__ takes them

    def __reduce__(self) -> tuple[type, tuple[object, ...]]:
        return type(self), tuple(getattr(self, name) for name in self.__match_args__)


@dataclass(frozen=True, slots=True)
class Source(_PickledByFields):
    """Where an entry's summary comes from: a seed article, its section heading and the article's title.

    ``title`` comes from ``sources.yaml``; readers see the title and section, never the file name.
    """

    file: str
    section: str
    title: str = ""

    def __str__(self) -> str:
        return f"{self.title} › {self.section}" if self.title else f"{self.file} — {self.section}"


@dataclass(frozen=True, slots=True)
class Entry(_PickledByFields):
    """One topic: the answer (``summary``) and the ways people ask for it."""

    id: str
    title: str
    category: str
    summary: str
    questions: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    related: tuple[str, ...] = ()
    sources: tuple[Source, ...] = ()
    file: str = ""
    line: int = 0

    @property
    def phrasings(self) -> tuple[str, ...]:
        """Every text the matcher may compare a question with, title first."""
        return (self.title, *self.questions, *self.aliases, *self.keywords)

    def content(self) -> tuple:
        """What a reader would see change; used to report edits on reload."""
        return (
            self.title,
            self.category,
            self.summary,
            self.questions,
            self.aliases,
            self.keywords,
            self.related,
            self.sources,
        )


@dataclass(frozen=True, slots=True)
class Category:
    id: str
    title: str
    description: str


@dataclass(frozen=True, slots=True)
class Acronym:
    acronym: str
    meaning: str
    match_case: bool = False  # for acronyms that are also ordinary words, such as "US"


@dataclass(frozen=True, slots=True)
class Glossary:
    """Acronyms and synonyms the normaliser rewrites before matching."""

    acronyms: tuple[Acronym, ...] = ()
    synonyms: Mapping[str, str] = field(default_factory=dict)  # variant -> canonical


@dataclass(frozen=True)
class KnowledgeBase:
    """A validated, versioned set of entries; replaced whole, never edited in place."""

    entries: Mapping[str, Entry]
    categories: tuple[Category, ...]
    glossary: Glossary
    version: str
    directory: str = ""

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries.values())

    def get(self, entry_id: str) -> Entry | None:
        return self.entries.get(entry_id)

    def in_category(self, category_id: str) -> list[Entry]:
        return [entry for entry in self if entry.category == category_id]

    def related(self, entry: Entry) -> tuple[Entry, ...]:
        """The entries ``entry`` names as related that this knowledge base has, in the order it names them."""
        return tuple(self.entries[i] for i in entry.related if i in self.entries)

    def category_title(self, category_id: str) -> str:
        """The title of a category (its id when the category is unknown)."""
        return next((c.title for c in self.categories if c.id == category_id), category_id)
