"""Inverted indexes that keep the matcher's cost nearly flat as the knowledge base grows.

A question is only ever compared with the entries its words point to, never
with the whole knowledge base:

- :class:`WordIndex` maps each content word to the entries using it, in a
  phrasing (full credit) or only in the summary (partial credit), as compact
  integer arrays (4 bytes a posting: a 50,000-entry knowledge base has about
  5 million). It adds up each entry's IDF-weighted coverage of a question and
  corrects misspelt words against its vocabulary.
- :class:`TitleIndex` finds the titles that can complete what a user is typing.

Words found in thousands of entries ("nato", "security") touch most of a large
knowledge base, so coverage is added up in one numpy array over all entries, each
word's postings in one vectorised step: a word listed for all 50,000 entries
costs well under a millisecond, and the sum is exact. (Adding postings one by one
in Python needed a ranking shortcut and a work budget to stay within a few
milliseconds, and was still most of a long question's time at 10,000 entries.)
"""

from __future__ import annotations

import bisect
import copy
import math
from array import array
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process

Coverage = npt.NDArray[np.float64]  # one value per entry, by entry number

TITLE_TYPO_CUTOFF = 75  # a typed word this close (fuzz.ratio) to a title word stands for it


class WordIndex:
    """Content word -> entries, built once per knowledge base."""

    def __init__(
        self,
        phrasing_words: Sequence[Iterable[str]],
        summary_words: Sequence[Iterable[str]],
        summary_credit: float,
    ) -> None:
        self.summary_credit = summary_credit
        full: defaultdict[str, array[int]] = defaultdict(lambda: array("I"))
        partial: defaultdict[str, array[int]] = defaultdict(lambda: array("I"))
        for index, (in_phrasings, in_summary) in enumerate(zip(phrasing_words, summary_words, strict=True)):
            known = set(in_phrasings)
            for word in known:
                full[word].append(index)
            if summary_credit > 0:
                for word in set(in_summary) - known:
                    partial[word].append(index)
        empty = array("I")
        self._postings = {w: (full.get(w, empty), partial.get(w, empty)) for w in sorted(full.keys() | partial.keys())}
        self._entry_total = max(len(phrasing_words), 1)
        self._idf = {word: self._idf_of(word) for word in self._postings}
        by_shape: defaultdict[tuple[str, int], list[str]] = defaultdict(list)
        for word in self._postings:  # alphabetical in each bucket: typo-correction ties go shortest, then first
            by_shape[_shape(word)].append(word)
        self._by_shape = dict(by_shape)

    def _idf_of(self, word: str) -> float:
        return math.log(1 + self._entry_total / self._entry_count(word))

    def with_words(self, added: Mapping[int, Iterable[str]]) -> WordIndex:
        """An index where each entry ``added`` maps to also uses the given words in a phrasing (full credit).

        The same as building the index again with those words, at the cost of the words changed.
        """
        changed = copy.copy(self)
        changed._postings, changed._idf, changed._by_shape = (
            dict(self._postings),
            dict(self._idf),
            dict(self._by_shape),
        )
        entries_by_word: defaultdict[str, set[int]] = defaultdict(set)
        for index, words in added.items():
            for word in words:
                entries_by_word[word].add(index)
        for word, entries in entries_by_word.items():
            full, partial = changed._postings.get(word, (array("I"), array("I")))
            if word not in changed._postings:
                same_shape = changed._by_shape[_shape(word)] = list(changed._by_shape.get(_shape(word), ()))
                bisect.insort(same_shape, word)
            changed._postings[word] = (
                array("I", sorted(entries.union(full))),
                array("I", (index for index in partial if index not in entries)),  # full credit replaces partial
            )
            changed._idf[word] = changed._idf_of(word)
        return changed

    def __contains__(self, word: str) -> bool:
        return word in self._postings

    def idf(self, word: str) -> float | None:
        return self._idf.get(word)

    def correct(self, word: str, cutoff: float) -> str:
        """The known word closest to ``word`` by ``fuzz.ratio`` (at least ``cutoff``) with the same first letter.

        Only words of a length that can reach ``cutoff`` are compared (``fuzz.ratio`` is at most
        ``200 x shorter / (sum of the lengths)``): at 50,000 entries, with invented names in the
        vocabulary, comparing every word of the same initial took 1.6 ms a misspelt word.
        """
        share = cutoff / 100
        shortest = math.ceil(len(word) * share / (2 - share) - 1e-9)  # the tolerance keeps a length at the bound
        longest = math.floor(len(word) * (2 - share) / share + 1e-9)
        candidates = [
            known for length in range(shortest, longest + 1) for known in self._by_shape.get((word[0], length), ())
        ]
        found = process.extractOne(word, candidates, scorer=fuzz.ratio, score_cutoff=cutoff) if candidates else None
        return found[0] if found else word

    def transposed(self, word: str) -> str | None:
        """The known word that ``word`` is with two neighbouring letters swapped back, if exactly one is."""
        swaps = {word[:i] + word[i + 1] + word[i] + word[i + 2 :] for i in range(len(word) - 1)}
        found = (swaps - {word}) & self._postings.keys()
        return found.pop() if len(found) == 1 else None

    def coverage(self, words: Sequence[str], weights: Sequence[float]) -> Coverage:
        """Each entry's summed weight of ``words`` (distinct; summary-only words at partial credit), 0 for the
        entries none of them names."""
        covered = np.zeros(self._entry_total)
        for word, weight in zip(words, weights, strict=True):
            postings = self._postings.get(word)
            if postings is not None:  # a word's postings are distinct, so one fancy-indexed add counts each once
                full, partial = (np.frombuffer(listed, dtype=np.uint32) for listed in postings)
                covered[full] += weight
                covered[partial] += weight * self.summary_credit
        return covered

    def _entry_count(self, word: str) -> int:
        full, partial = self._postings[word]
        return len(full) + len(partial)


def _shape(word: str) -> tuple[str, int]:
    """What typo correction sorts the vocabulary by: the first letter, which a misspelling keeps, and the length."""
    return word[0], len(word)


def best_covered(coverage: Coverage, count: int) -> list[tuple[int, float]]:
    """The ``count`` entries with the most coverage, most first (equal coverage: lower index first), with their
    coverage. Which of several entries tied at the cut are kept is numpy's partition's choice."""
    touched = np.flatnonzero(coverage)
    if len(touched) > count:
        touched = touched[np.argpartition(-coverage[touched], count - 1)[:count]]
    order = np.lexsort((touched, -coverage[touched]))
    return list(zip(touched[order].tolist(), coverage[touched[order]].tolist(), strict=True))


class TitleIndex:
    """Title word -> entries, for autocompleting titles as they are typed.

    The postings of all title words sit in one array in alphabetical word order,
    so the titles of every word a prefix begins are one contiguous slice, however
    many words that is (a single letter begins 10,000 words of a 50,000-entry index).
    """

    def __init__(self, titles: Mapping[int, str]) -> None:
        self.titles = titles
        entries_by_word: defaultdict[str, list[int]] = defaultdict(list)
        for index, title in titles.items():
            for word in dict.fromkeys(title.split()):
                entries_by_word[word].append(index)
        self._words = sorted(entries_by_word)
        self._position = {word: position for position, word in enumerate(self._words)}
        self._postings = array("I")
        self._starts = array("I", [0])
        for word in self._words:
            self._postings.extend(entries_by_word[word])
            self._starts.append(len(self._postings))

    def candidates(self, typed: str, limit: int) -> Mapping[int, str]:
        """Up to ``limit`` titles sharing words with ``typed`` (all of them, if there are no more).

        The last word may be unfinished, so it counts for every title word it begins;
        a word that matches nothing counts for the closest title word (a typo). Rarer
        words fill the pool first, and once it is full commoner words are not counted:
        they would only reorder titles that the caller ranks anyway, and counting them
        cost 20 ms a keystroke on a large index.
        """
        if len(self.titles) <= limit:
            return self.titles
        *done, last = typed.split()
        spans = [self._span_of(word if word in self._position else self._closest(word)) for word in dict.fromkeys(done)]
        spans.append(self._prefix_span(last) or self._span_of(self._closest(last)))
        votes: Counter[int] = Counter()
        for start, end in sorted(spans, key=lambda span: span[1] - span[0]):
            room = limit - len(votes)
            if room <= 0:
                break
            votes.update(self._postings[start : min(end, start + room)])
        return {index: self.titles[index] for index, _ in votes.most_common(limit)}

    def _span_of(self, word: str) -> tuple[int, int]:
        """Where ``word``'s entries sit in the postings array (an empty span for an unknown word)."""
        position = self._position.get(word)
        if position is None:
            return (0, 0)
        return (self._starts[position], self._starts[position + 1])

    def _words_beginning(self, prefix: str) -> tuple[int, int]:
        """Positions ``[first, after)`` of the title words ``prefix`` begins (sorted, so they are adjacent)."""
        first = bisect.bisect_left(self._words, prefix)
        return first, bisect.bisect_right(self._words, prefix + "\uffff", first)

    def _prefix_span(self, prefix: str) -> tuple[int, int] | None:
        """The entries of every word ``prefix`` begins, or None if it begins none."""
        first, after = self._words_beginning(prefix)
        return (self._starts[first], self._starts[after]) if after > first else None

    def _closest(self, word: str) -> str:
        """The title word closest to a misspelt ``word``, among those with its first letter (as WordIndex does)."""
        same_initial = self._words[slice(*self._words_beginning(word[0]))]
        found = process.extractOne(word, same_initial, scorer=fuzz.ratio, score_cutoff=TITLE_TYPO_CUTOFF)
        return found[0] if found else word
