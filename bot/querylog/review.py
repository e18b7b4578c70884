"""The review queue (``/querylog review``): gap groups one at a time, ordered by impact, with what was decided.

The queue is built on one small interface, :class:`ReviewItem`, made by one adapter,
:func:`review_items`, from :func:`bot.querylog.reports.gaps` and the matcher's ranking of each
group's representative question. When the log reports get their own grouping (a ``gap_groups``
function returning groups with a stable key), only :func:`review_items` changes.

What moderators decided is kept in the ``reviewed`` table (schema migration 3), by group key:
a taught or dismissed group is left out for good (its questions are also learned or dismissed,
so the gap report drops them too); a skipped group goes to the back of the queue, oldest skip
first, and comes round again.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import aiosqlite

from bot.matching.matcher import Matcher, Outcome, content_tokens
from bot.querylog import reports

MAX_GROUPS = 500  # gap groups read for one queue; far more than a team's moderators review in a sitting
KEY_LENGTH = 12  # hex digits of a group key: short enough for a custom id, long enough never to collide
SKIPPED, TAUGHT, DISMISSED = "skipped", "taught", "dismissed"


@dataclass(frozen=True, slots=True)
class ReviewItem:
    """One gap group as the review queue shows it."""

    key: str  # stable id of the group (KEY_LENGTH hex digits), carried in the components' custom ids
    question: str  # the representative question: the group's most asked wording
    questions: tuple[str, ...]  # every distinct wording, most asked first (the representative first)
    times: tuple[int, ...]  # how often each wording was asked, in the same order
    count: int  # logged questions in the group
    askers: int  # distinct askers (hashed ids; the console and CLI have none)
    last_asked: str  # UTC, ISO 8601
    downvotes: int  # 👎 on the answers the group got
    candidates: tuple[str, ...]  # entry ids the bot ranks best for the representative question, best first

    @property
    def impact(self) -> tuple[bool, int, int, str]:
        """Sort key, smallest first: groups with 👎 first, then askers x times asked, then times asked, then the
        question (so equal groups keep one order)."""
        return (self.downvotes == 0, -max(self.askers, 1) * self.count, -self.count, self.question)


def group_key(normalized: str) -> str:
    """The key of a group whose representative question normalises to ``normalized``: a digest of its content words
    (the words the gap report groups on), so the same group gets the same key after a restart."""
    content = " ".join(content_tokens(normalized)) or normalized
    return hashlib.sha256(content.encode("utf-8", "replace")).hexdigest()[:KEY_LENGTH]


async def review_items(
    db: aiosqlite.Connection, matcher: Matcher, days: int | None = 30, exclude: Collection[str] = ()
) -> list[ReviewItem]:
    """The open gap groups of the last ``days`` days, ordered by impact; groups whose key is in ``exclude`` are left
    out. The one adapter between the gap report and the review queue.

    (Swap in ``reports.gap_groups(db, matcher, days, limit, exclude)`` here when it exists: build each
    :class:`ReviewItem` from its groups' fields instead.)
    """
    gaps = await reports.gaps(db, days, limit=MAX_GROUPS)
    # Normalising and ranking are CPU work (word embeddings): off the event loop.
    items = await asyncio.to_thread(lambda: [_item(gap, matcher) for gap in gaps])
    excluded = set(exclude)
    return sorted((item for item in items if item.key not in excluded), key=lambda item: item.impact)


def _item(gap: reports.Gap, matcher: Matcher) -> ReviewItem:
    wordings = gap.wordings.most_common()
    wordings.sort(key=lambda pair: (pair[0] != gap.question, -pair[1]))  # stable: the representative first
    return ReviewItem(
        key=group_key(matcher.normalize(gap.question)),
        question=gap.question,
        questions=tuple(text for text, _ in wordings),
        times=tuple(n for _, n in wordings),
        count=gap.count,
        askers=gap.askers,
        last_asked=gap.last_seen,
        downvotes=gap.downvotes,
        candidates=tuple(scored.entry.id for scored in matcher.rank(gap.question)),
    )


def order_queue(items: Sequence[ReviewItem], marks: Mapping[str, tuple[str, str]]) -> list[ReviewItem]:
    """The queue: groups never reviewed in impact order (as ``items`` come), then skipped ones, oldest skip first.
    Taught and dismissed groups are left out. ``marks``: decision and when, by group key (``QueryLog.review_marks``)."""
    fresh = [item for item in items if item.key not in marks]
    skipped = [item for item in items if marks.get(item.key, ("", ""))[0] == SKIPPED]
    skipped.sort(key=lambda item: marks[item.key][1])
    return fresh + skipped


def closed_keys(marks: Mapping[str, tuple[str, str]]) -> frozenset[str]:
    """Groups taught or dismissed: never shown again."""
    return frozenset(key for key, (decision, _) in marks.items() if decision in (TAUGHT, DISMISSED))


def last_skipped(marks: Mapping[str, tuple[str, str]], open_keys: Collection[str], besides: str) -> str | None:
    """The group skipped most recently that is still open, other than ``besides`` (where Back goes)."""
    skipped = [(at, key) for key, (decision, at) in marks.items() if decision == SKIPPED and key != besides]
    return max((pair for pair in skipped if pair[1] in open_keys), default=(None, None))[1]


def answered_with(matcher: Matcher, item: ReviewItem, entry_id: str) -> int:
    """How many of the group's logged questions ``matcher`` now answers outright with ``entry_id`` (CPU work: run it
    off the event loop)."""
    total = 0
    for question, times in zip(item.questions, item.times, strict=True):
        match = matcher.match(question)
        if match.outcome is Outcome.ANSWERED and match.best is not None and match.best.entry.id == entry_id:
            total += times
    return total
