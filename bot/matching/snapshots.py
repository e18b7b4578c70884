"""Built matchers saved on disk, so a restart does not parse and index the knowledge base again.

Parsing the YAML and indexing it take about 14 s at 10,000 entries (libyaml and
pure-Python normalisation of 270,000 texts); loading the finished matcher takes
well under a second. A snapshot is keyed by everything its contents depend on:
the exact bytes and names of the knowledge files, the folder, the thresholds, and
the source code of the loader and matcher (plus the Python and rapidfuzz
versions), so an edit to any of them simply misses and builds afresh. Learned
phrasings are not part of a snapshot: they are added on top, in milliseconds.

Snapshots are pickles, read with an unpickler that only accepts the classes a
matcher is made of, so a planted file cannot run code; anything unreadable is
ignored and rebuilt. They are an optimisation only: a snapshot that cannot be
written is logged and the bot carries on.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import pickle
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import rapidfuzz
from rapidfuzz import fuzz

from bot.knowledge.loader import KnowledgeFiles, parse_knowledge, read_knowledge_files
from bot.matching.matcher import Matcher, Thresholds

log = logging.getLogger(__name__)

KEEP = 2  # snapshots kept per folder (the current one and the one before it); each is tens of MB at scale
_PREFIX, _SUFFIX = "matcher-", ".pickle"
_SOURCES = [Path(__file__).parent.parent / package for package in ("knowledge", "matching")]

_ALLOWED = {
    ("array", "array"),
    ("array", "_array_reconstructor"),
    ("re", "_compile"),
    *(
        ("bot.knowledge.model", name)
        for name in ("Acronym", "Category", "Entry", "Glossary", "KnowledgeBase", "Source")
    ),
    *(("bot.matching.index", name) for name in ("TitleIndex", "WordIndex")),
    *(("bot.matching.matcher", name) for name in ("Matcher", "Scoring", "Thresholds")),
    ("bot.matching.normalize", "Normalizer"),
    ("bot.matching.confidence", "Calibration"),
    ("bot.matching.semantic", "SemanticIndex"),
    ("bot.matching.semantic", "_shared_embedder"),  # the model itself is never pickled, only named
}
_SCORERS = {id(scorer) for scorer in vars(fuzz).values() if callable(scorer)}


class _MatcherUnpickler(pickle.Unpickler):
    """Builds nothing but the parts of a matcher (see the Python docs, "Restricting Globals")."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        if module.startswith("rapidfuzz."):  # the similarity scorer; its module depends on the CPU
            scorer = super().find_class(module, name)
            if id(scorer) in _SCORERS:
                return scorer
        raise pickle.UnpicklingError(f"a matcher snapshot does not contain {module}.{name}")


class Snapshots:
    """A folder of matcher snapshots."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def matcher(self, directory: Path, thresholds: Thresholds) -> Matcher:
        """The matcher for the knowledge base in ``directory``: from its snapshot, else built (and saved).

        Raises :class:`~bot.knowledge.loader.KnowledgeError` exactly as loading would:
        only valid knowledge bases are ever saved, and a folder with an unreadable
        file is never looked up.
        """
        started = time.perf_counter()
        files = read_knowledge_files(directory)
        matcher = self.load(files, thresholds)
        if matcher is not None:
            log.debug("knowledge base %s: loaded from snapshot in %.2f s", files.version, time.perf_counter() - started)
            return matcher
        matcher = Matcher(parse_knowledge(files), thresholds)
        log.debug("knowledge base %s: parsed and indexed in %.2f s", files.version, time.perf_counter() - started)
        self.save(files, matcher)
        return matcher

    def load(self, files: KnowledgeFiles, thresholds: Thresholds) -> Matcher | None:
        """The saved matcher for exactly these files and thresholds, or None."""
        if files.unreadable:
            return None
        path = self._path(files, thresholds)
        try:
            with path.open("rb") as file:
                matcher = _MatcherUnpickler(file).load()
        except FileNotFoundError:
            return None
        except Exception as error:  # damaged, truncated, planted or from other code: rebuild and overwrite
            log.warning("ignoring matcher snapshot %s: %s: %s", path.name, type(error).__name__, error)
            return None
        if not isinstance(matcher, Matcher) or matcher.knowledge.version != files.version:
            log.warning("ignoring matcher snapshot %s: it holds something else", path.name)
            return None
        return matcher

    def save(self, files: KnowledgeFiles, matcher: Matcher) -> None:
        """Save ``matcher``, built from ``files``, atomically (a reader sees the old file or the whole new one)."""
        path = self._path(files, matcher.thresholds)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.folder, prefix=".saving-", delete=False) as file:
                try:
                    pickle.dump(matcher, file, protocol=pickle.HIGHEST_PROTOCOL)
                except BaseException:
                    os.unlink(file.name)
                    raise
            os.replace(file.name, path)
            self._prune(keep=path)
        except Exception as error:  # an optimisation only: say so and carry on
            log.warning(
                "could not save a matcher snapshot in %s (%s: %s); the next start will index again",
                self.folder,
                type(error).__name__,
                error,
            )

    def _path(self, files: KnowledgeFiles, thresholds: Thresholds) -> Path:
        key = hashlib.sha256(_code_fingerprint().encode())
        key.update(f"{files.directory.resolve()}\0{files.digest}\0{thresholds!r}".encode())
        return self.folder / f"{_PREFIX}{key.hexdigest()[:32]}{_SUFFIX}"

    def _prune(self, keep: Path) -> None:
        others = sorted(
            (p for p in self.folder.glob(f"{_PREFIX}*{_SUFFIX}") if p != keep), key=lambda p: p.stat().st_mtime
        )
        for old in others[: max(len(others) - (KEEP - 1), 0)]:
            old.unlink(missing_ok=True)


@functools.cache
def _code_fingerprint() -> str:
    """The code that decides what a matcher holds: a change to it must never load an old snapshot."""
    code = hashlib.sha256(f"{sys.version}\0{rapidfuzz.__version__}".encode())
    for source in sorted(path for folder in _SOURCES for path in folder.glob("*.py")):
        code.update(source.name.encode() + b"\0" + source.read_bytes())
    return code.hexdigest()
