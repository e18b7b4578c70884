"""The review queue (``/querylog review``): gap groups one at a time, ordered by impact, with what was decided.

The queue is :func:`bot.querylog.reports.gap_groups` itself (one group is one intent, in impact order;
the contract is in reports.py), read ``QUEUE_GROUPS`` at a time: the matcher runs only on the groups
that can reach the queue, so the first page stays quick on a year of log. Past those, the title says
there are more (``Queue.more``); they come in as the ones ahead are taught or dismissed.

What moderators decided is kept in the ``reviewed`` table (schema migration 3), by group key
(``GapGroup.key``): a taught or dismissed group is left out for good (its questions are also learned
or dismissed, so every gap report drops them too); a skipped group goes to the back of the queue,
oldest skip first, and comes round again. Marks kept under the 12-digit keys of an earlier version
match no group any more: those groups are simply in the queue again, once, in their place by impact.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from bot.matching.matcher import Matcher, Outcome
from bot.querylog import reports
from bot.querylog.reports import GapGroup
from bot.querylog.store import QueryLog

QUEUE_GROUPS = 25  # groups never reviewed read for one queue: what a moderator works through in a sitting
SKIPPED, TAUGHT, DISMISSED = "skipped", "taught", "dismissed"


@dataclass(frozen=True, slots=True)
class Queue:
    """The review queue as it is now."""

    ranked: list[GapGroup]  # the open groups read, by impact (as gap_groups gives them)
    marks: dict[str, tuple[str, str]]  # every decision kept, and when, by group key
    more: bool  # open groups rank below these (shown as the ones ahead are taught or dismissed)

    @property
    def groups(self) -> list[GapGroup]:
        """In queue order (:func:`order_queue`)."""
        return order_queue(self.ranked, self.marks)

    def find(self, key: str) -> GapGroup | None:
        return next((group for group in self.ranked if group.key == key), None)

    def remarked(self, marks: dict[str, tuple[str, str]]) -> Queue:
        """The same groups under new ``marks``: after a Skip or Back, which change no gap, the log is not read again."""
        return Queue(self.ranked, marks, self.more)


async def read_queue(query_log: QueryLog, matcher: Matcher, days: int) -> Queue:
    """The queue of the last ``days`` days: the ``QUEUE_GROUPS`` most impactful groups never reviewed, and the skipped
    ones among them (each skip reads one group more, so skipping never shortens the queue)."""
    marks = await query_log.review_marks()
    limit = QUEUE_GROUPS + sum(decision == SKIPPED for decision, _ in marks.values())
    found = await reports.gap_groups(
        await query_log.connection(), matcher, days, limit=limit + 1, exclude=closed_keys(marks)
    )
    return Queue(found[:limit], marks, more=len(found) > limit)


def order_queue(groups: Sequence[GapGroup], marks: Mapping[str, tuple[str, str]]) -> list[GapGroup]:
    """The queue: groups never reviewed in impact order (as ``groups`` come), then skipped ones, oldest skip first.
    Taught and dismissed groups are left out. ``marks``: decision and when, by group key (``QueryLog.review_marks``)."""
    fresh = [group for group in groups if group.key not in marks]
    skipped = [group for group in groups if marks.get(group.key, ("", ""))[0] == SKIPPED]
    skipped.sort(key=lambda group: marks[group.key][1])
    return fresh + skipped


def closed_keys(marks: Mapping[str, tuple[str, str]]) -> frozenset[str]:
    """Groups taught or dismissed: never shown again."""
    return frozenset(key for key, (decision, _) in marks.items() if decision in (TAUGHT, DISMISSED))


def last_skipped(marks: Mapping[str, tuple[str, str]], open_keys: Collection[str], besides: str) -> str | None:
    """The group skipped most recently that is still open, other than ``besides`` (where Back goes)."""
    skipped = [(at, key) for key, (decision, at) in marks.items() if decision == SKIPPED and key != besides]
    return max((pair for pair in skipped if pair[1] in open_keys), default=(None, None))[1]


def answered_with(matcher: Matcher, group: GapGroup, entry_id: str) -> int:
    """How many of the group's logged questions ``matcher`` now answers outright with ``entry_id``, each wording
    counted as often as it was asked (CPU work: run it off the event loop)."""
    total = 0
    for question, times in zip(group.questions, group.times, strict=True):
        match = matcher.match(question)
        if match.outcome is Outcome.ANSWERED and match.best is not None and match.best.entry.id == entry_id:
            total += times
    return total
