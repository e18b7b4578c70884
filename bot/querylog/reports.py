"""What moderators read from the query log: recent questions, gap groups, statistics, a CSV export.

Every report runs off the event loop: the ``async`` functions take the bot's open
connection only to learn the file's path, then read the file through a connection
of their own in a worker thread (``asyncio.to_thread``), so a year of log never
holds the loop. A file that fails while being read raises
:class:`~bot.querylog.QueryLogUnavailable`.

**The gap groups' contract** (:func:`gap_groups`, the one grouping of gaps: ``/querylog gaps``,
``allybot logs gaps`` and the review queue ``/querylog review`` all show it)::

    async def gap_groups(db, matcher, days=30, limit=25, exclude=()) -> list[GapGroup]

One group is one intent: questions whose content words are near-duplicates (rapidfuzz
``token_sort_ratio`` >= ``SIMILAR``, and word by word, :func:`same_words`) *and* whose best
candidate under ``matcher`` is the same entry (the top of ``Matcher.rank``, or "none" when it
does not reach the suggest threshold; wordings the matcher reads alike, typos corrected,
share the ranking of the most asked of them). Only gaps are grouped: questions not answered
outright, and answers someone voted 👎. Questions taught or dismissed (and their
near-duplicates) are left out, and so are groups whose ``key`` is in ``exclude``.
``days=None`` reads the whole log; ``limit=None`` returns every group.

Per group (:class:`GapGroup`): ``key`` (``g`` + 16 hex digits: ASCII, 17 characters, safe in
a Discord ``custom_id``; stable while the group's most frequent wording stays its most
frequent and its best candidate stays the same), ``question`` (the most frequent wording),
``questions`` (every distinct wording, most frequent first), ``times`` (how often each of
``questions`` was asked, in the same order), ``count`` (their sum), ``askers`` (distinct;
the console and the command line log none), ``last_asked`` (ISO UTC), ``downvotes``,
``topic`` (the best candidate's id, or None), ``candidates`` (the bot's ranked entry ids for
the group, best first, at most 4) and ``answers`` (what the bot did, most frequent first:
``("suggested: id", 3)``, ``("unanswered", 2)``...). ``GapGroup.as_dict()`` holds the same
for JSON (``allybot logs gaps --json``): the tuples as lists, ``answers`` as ``answered_as``,
an object of counts.

Order, by impact: groups with a 👎 first, then askers (at least 1) x count, then the 👎
count, then the most recent. Cost: near-linear in distinct questions for the wording, and
the matcher runs only on the groups that can reach the first ``limit``: a first page is
quick on a year of log, and ``limit=None`` ranks every distinct question of the period.
:func:`gap_group` finds one group again by its key.
"""

from __future__ import annotations

import asyncio
import csv
import gzip
import hashlib
import heapq
import io
import os
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol, TypeVar

import aiosqlite
from rapidfuzz import fuzz, process

from bot.matching.matcher import content_tokens
from bot.querylog import unavailable_on_failure
from bot.querylog.schema import QUERY_COLUMNS

if TYPE_CHECKING:
    from bot.matching.matcher import Matcher

SIMILAR = 85  # token_sort_ratio at which two questions count as the same gap
SAME_WORD = 75  # fuzz.ratio at which two words are the same word, mistyped
LONG_QUESTION = 6  # content words from which one word more or less is still the same question
BLOCKING_WORDS = 3  # a question is compared only with groups sharing one of its rarest words
READ_TIMEOUT = 5.0  # seconds a report's own connection waits for a writer's lock
T = TypeVar("T")


def since(days: int | None) -> str:
    """ISO timestamp ``days`` ago (the epoch when None: everything)."""
    if days is None:
        return "0000"
    return (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="seconds")


async def database_path(db: aiosqlite.Connection) -> str:
    """The file behind ``db`` (reports open it again in their thread)."""
    async with db.execute("PRAGMA database_list") as cursor:
        for _, name, file in await cursor.fetchall():
            if name == "main" and file:
                return str(file)
    raise sqlite3.OperationalError("the query log is not a file")


def reader(path: str | os.PathLike[str]) -> sqlite3.Connection:
    """A read-only connection of a report's own (in the thread that uses it)."""
    connection = sqlite3.connect(path, timeout=READ_TIMEOUT, check_same_thread=False)
    connection.execute("PRAGMA query_only = 1")
    return connection


async def off_loop(db: aiosqlite.Connection, work: Callable[..., T], *args: Any) -> T:
    """``work(connection, *args)`` in a worker thread, on a connection of its own to ``db``'s file."""
    path = await database_path(db)

    def run() -> T:
        connection = reader(path)
        try:
            return work(connection, *args)
        finally:
            connection.close()

    return await asyncio.to_thread(run)


@unavailable_on_failure
async def recent(db: aiosqlite.Connection, limit: int = 20) -> list[dict]:
    db.row_factory = aiosqlite.Row
    async with db.execute(
        "SELECT id, asked_at, source, question, outcome, entry_id, score FROM queries ORDER BY id DESC LIMIT ?",
        (limit,),
    ) as cursor:
        return [dict(row) for row in await cursor.fetchall()]


# --- gaps ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GapGroup:
    """One intent the bot answers badly: see the module docstring for the contract."""

    key: str
    question: str
    questions: tuple[str, ...]
    times: tuple[int, ...]  # how often each of ``questions`` was asked
    count: int
    askers: int
    last_asked: str
    downvotes: int
    topic: str | None
    candidates: tuple[str, ...]
    answers: tuple[tuple[str, int], ...] = ()  # what the bot did, most frequent first: ("suggested: id", 3)...

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "question": self.question,
            "questions": list(self.questions),
            "times": list(self.times),
            "count": self.count,
            "askers": self.askers,
            "last_asked": self.last_asked,
            "downvotes": self.downvotes,
            "topic": self.topic,
            "candidates": list(self.candidates),
            "answered_as": dict(self.answers),
        }


@dataclass(slots=True)
class _Text:
    """Everything logged under one content key (the words that carry meaning, as the matcher sees them).

    Its tallies are plain dicts of str -> int, which Python's cycle collector does not track (a ``Counter`` it
    does): a month of log holds thousands of these, and a full collection holds the event loop while it walks them."""

    key: str
    count: int = 0
    last: str = ""
    downvotes: int = 0
    askers: set[str] = field(default_factory=set)
    wordings: dict[str, int] = field(default_factory=dict)
    normalized: dict[str, int] = field(default_factory=dict)
    answers: dict[str, int] = field(default_factory=dict)

    def add(self, tally: dict[str, int], what: str, count: int) -> None:
        tally[what] = tally.get(what, 0) + count

    @property
    def wording(self) -> str:
        """The most asked normalised wording (the first of equals, as logged)."""
        return max(self.normalized, key=self.normalized.__getitem__)


_GAP_ROWS = (
    "SELECT q.normalized, q.question, q.user_hash, q.outcome, q.entry_id, COUNT(*), MAX(q.asked_at),"
    " SUM((SELECT COUNT(*) FROM feedback f WHERE f.query_id = q.id AND f.vote < 0))"
    " FROM queries q WHERE q.asked_at >= ? AND q.normalized != ''"
    " AND (q.outcome != 'answered' OR EXISTS (SELECT 1 FROM feedback f WHERE f.query_id = q.id AND f.vote < 0))"
    " GROUP BY q.normalized, q.question, q.user_hash, q.outcome, q.entry_id"
)


def _gap_texts(connection: sqlite3.Connection, days: int | None) -> list[_Text]:
    """The gaps of the period by content key, most asked first; taught and dismissed ones (and near-duplicates) out."""
    texts: dict[str, _Text] = {}
    keys: dict[str, str] = {}  # normalized -> content key: a question comes in many rows (one per asker and answer)
    for normalized, question, user_hash, outcome, entry_id, count, last, downvotes in connection.execute(
        _GAP_ROWS, (since(days),)
    ):
        key = keys.get(normalized)
        if key is None:
            key = keys[normalized] = _key(normalized)
        text = texts.get(key)
        if text is None:
            text = texts[key] = _Text(key)
        text.count += count
        text.last = max(text.last, last)
        text.downvotes += downvotes
        if user_hash:
            text.askers.add(user_hash)
        text.add(text.wordings, question, count)
        text.add(text.normalized, normalized, count)
        text.add(text.answers, outcome + (f": {entry_id}" if entry_id else ""), count)
    closed = {
        _key(n) for (n,) in connection.execute("SELECT normalized FROM learned UNION SELECT normalized FROM dismissed")
    }
    if closed:
        closed_list = sorted(closed)
        texts = {
            k: t
            for k, t in texts.items()
            if k not in closed
            and process.extractOne(k, closed_list, scorer=fuzz.token_sort_ratio, score_cutoff=SIMILAR) is None
        }
    return sorted(texts.values(), key=lambda t: (-t.count, t.key))


def near_duplicates(keys: Sequence[str], *, word_check: bool = True) -> list[list[int]]:
    """Clusters of ``keys`` (indices, each cluster in input order): a key joins the first cluster whose first key
    it matches at ``SIMILAR`` or above, else starts one.

    Near-linear: a key is compared (in rapidfuzz's C code) only with the clusters that share one of its
    ``BLOCKING_WORDS`` rarest words; two questions that differ in all of those are not near-duplicates.
    With ``word_check`` (the default) they must also pass :func:`same_words`.
    """
    frequency = Counter(word for key in keys for word in set(key.split()))
    clusters: list[list[int]] = []
    seeds: list[str] = []
    postings: defaultdict[str, list[int]] = defaultdict(list)  # word -> clusters whose seed has it
    for index, key in enumerate(keys):
        words = sorted(set(key.split()), key=lambda w: (frequency[w], w))
        rare = words[:BLOCKING_WORDS]
        candidates = sorted({c for word in rare for c in postings.get(word, ())})
        found = None
        if candidates:
            close = process.extract(
                key, [seeds[c] for c in candidates], scorer=fuzz.token_sort_ratio, score_cutoff=SIMILAR, limit=5
            )
            found = next((c for _, _, c in close if not word_check or same_words(key, seeds[candidates[c]])), None)
        if found is not None:
            clusters[candidates[found]].append(index)
            continue
        clusters.append([index])
        seeds.append(key)
        for word in words:
            postings[word].append(len(clusters) - 1)
    return clusters


def same_words(one: str, other: str) -> bool:
    """Whether two near-duplicate keys also say the same things word by word: every word of each has a look-alike
    (a typo) in the other, but for one in a long question. "nato response force size" adds a word that
    "nato response force" lacks: another question ("nrf size" is not "what is the nrf")."""
    a, b = one.split(), other.split()
    spare = 1 if min(len(a), len(b)) >= LONG_QUESTION else 0
    return _unmatched(a, b) + _unmatched(b, a) <= spare


def _unmatched(words: list[str], others: list[str]) -> int:
    """How many of ``words`` have no look-alike (``fuzz.ratio`` >= ``SAME_WORD``) in ``others``. Most words are in
    ``others`` as they are: only the rest are compared, in rapidfuzz's C code (clustering's hottest loop)."""
    present = set(others)
    return sum(
        w not in present and process.extractOne(w, others, scorer=fuzz.ratio, score_cutoff=SAME_WORD) is None
        for w in words
    )


@dataclass
class _Cluster:
    texts: list[_Text]
    topic: str | None = None
    split: bool = False  # already divided by best candidate (or no matcher to divide by)

    def priority(self) -> tuple[int, int, int, float]:
        """Impact, smallest first for ``heapq``: a 👎 at all, askers x count (one asker at least: the console and the
        command line log none), 👎 count, the most recent question. No part of a cluster comes before the whole."""
        count = sum(t.count for t in self.texts)
        askers = len(set().union(*(t.askers for t in self.texts)))
        downvotes = sum(t.downvotes for t in self.texts)
        last = datetime.fromisoformat(max(t.last for t in self.texts)).timestamp()
        return (-int(downvotes > 0), -max(askers, 1) * count, -downvotes, -last)


def _clusters(texts: list[_Text], *, word_check: bool = True) -> list[_Cluster]:
    keys = [t.key for t in texts]
    return [_Cluster([texts[i] for i in members]) for members in near_duplicates(keys, word_check=word_check)]


def _group_key(cluster: _Cluster) -> str:
    seed = cluster.texts[0].key  # the most asked content key
    return "g" + hashlib.blake2b(f"{cluster.topic or ''}|{seed}".encode(), digest_size=8).hexdigest()


Ranking = tuple[str | None, tuple[tuple[str, float], ...]]  # best candidate (or None), ranked (entry id, score)


class _Topics:
    """Best candidate and ranked candidates per content key under one matcher.

    In a cluster, wordings the matcher reads alike (the same content words once it has corrected their typos:
    ``Matcher.query_tokens``) are matched once, as the most asked of them: a typo is not another intent, and the
    matcher is the cost of a first page (a popular question comes in dozens of mistyped wordings)."""

    def __init__(self, matcher: Matcher) -> None:
        self.matcher = matcher
        self._seen: dict[str, Ranking] = {}  # by content key

    def _ranking(self, normalized: str) -> Ranking:
        """The matcher's whole ranking (not only the runners-up it would suggest: the review menu offers them all)."""
        ranked = self.matcher.rank(normalized)
        best = ranked[0].entry.id if ranked and ranked[0].score >= self.matcher.thresholds.suggest else None
        return best, tuple((s.entry.id, s.score) for s in ranked)

    def split(self, cluster: _Cluster) -> list[_Cluster]:
        read: dict[tuple[str, ...], Ranking] = {}
        by_topic: dict[str | None, list[_Text]] = {}
        for text in cluster.texts:  # most asked first
            wording = text.wording
            reading = tuple(self.matcher.query_tokens(wording))
            if reading not in read:
                read[reading] = self._ranking(wording)
            self._seen[text.key] = read[reading]
            by_topic.setdefault(read[reading][0], []).append(text)
        return [_Cluster(texts, topic, split=True) for topic, texts in by_topic.items()]

    def candidates(self, cluster: _Cluster) -> tuple[str, ...]:
        weight: defaultdict[str, float] = defaultdict(float)
        for text in cluster.texts:
            for entry_id, score in self._seen[text.key][1]:
                weight[entry_id] += score * text.count
        ranked = [e for e, _ in sorted(weight.items(), key=lambda item: (-item[1], item[0]))]
        if cluster.topic in ranked:
            ranked.remove(cluster.topic)
            ranked.insert(0, cluster.topic)
        return tuple(ranked[:4])


def _group(cluster: _Cluster, topics: _Topics | None) -> GapGroup:
    wordings: Counter[str] = Counter()
    answers: Counter[str] = Counter()
    for text in cluster.texts:
        wordings.update(text.wordings)
        answers.update(text.answers)
    ordered = sorted(wordings.items(), key=lambda item: (-item[1], item[0]))
    return GapGroup(
        key=_group_key(cluster),
        question=ordered[0][0],
        questions=tuple(w for w, _ in ordered),
        times=tuple(n for _, n in ordered),
        count=sum(t.count for t in cluster.texts),
        askers=len(set().union(*(t.askers for t in cluster.texts))),
        last_asked=max(t.last for t in cluster.texts),
        downvotes=sum(t.downvotes for t in cluster.texts),
        topic=cluster.topic,
        candidates=topics.candidates(cluster) if topics else (),
        answers=tuple(answers.most_common()),
    )


def group_gaps(
    texts: list[_Text], matcher: Matcher | None, limit: int | None, exclude: Collection[str] = ()
) -> list[GapGroup]:
    """The groups of ``texts`` by impact, first ``limit`` (all when None). Clusters are divided by best candidate
    lazily: the most impactful one is divided first, and its parts (never more impactful than the whole) go back
    into the heap, so only the clusters that can reach the first page are ever matched."""
    topics = _Topics(matcher) if matcher is not None else None
    heap: list[tuple[tuple[int, int, int, float], int, _Cluster]] = []
    order = 0

    def push(cluster: _Cluster) -> None:
        nonlocal order
        heapq.heappush(heap, (cluster.priority(), order, cluster))  # ``order``: ties keep the clusters' order
        order += 1

    for cluster in _clusters(texts):
        cluster.split = topics is None
        push(cluster)
    found: list[GapGroup] = []
    while heap and (limit is None or len(found) < limit):
        _, _, cluster = heapq.heappop(heap)
        if not cluster.split:
            assert topics is not None
            for part in topics.split(cluster):
                push(part)
            continue
        group = _group(cluster, topics)
        if group.key not in exclude:
            found.append(group)
    return found


@unavailable_on_failure
async def gap_groups(
    db: aiosqlite.Connection,
    matcher: Matcher,
    days: int | None = 30,
    limit: int | None = 25,
    exclude: Collection[str] = (),
) -> list[GapGroup]:
    """The review queue: gaps grouped by intent, by impact (the contract is in the module docstring)."""

    def work(connection: sqlite3.Connection) -> list[GapGroup]:
        return group_gaps(_gap_texts(connection, days), matcher, limit, frozenset(exclude))

    return await off_loop(db, work)


@unavailable_on_failure
async def gap_group(db: aiosqlite.Connection, matcher: Matcher, key: str, days: int | None = 30) -> GapGroup | None:
    """The group with this ``key`` (from :func:`gap_groups` with the same ``days``), or None when it is gone."""

    def work(connection: sqlite3.Connection) -> GapGroup | None:
        return next((g for g in group_gaps(_gap_texts(connection, days), matcher, None) if g.key == key), None)

    return await off_loop(db, work)


def _key(normalized: str) -> str:
    """What makes two questions the same gap: their content words ("best pizza town"), as the matcher sees them."""
    return " ".join(content_tokens(normalized)) or normalized


# --- statistics ---------------------------------------------------------------------------------------


@dataclass
class Stats:
    days: int | None
    total: int
    outcomes: dict[str, int]
    top_entries: list[tuple[str, int]]
    upvotes: int
    downvotes: int
    busiest_channels: list[tuple[int, int]]
    per_day: list[tuple[str, int, int]]  # (date, answered, not answered)

    @property
    def answer_rate(self) -> float:
        return round(100 * self.outcomes.get("answered", 0) / self.total, 1) if self.total else 0.0

    def as_dict(self) -> dict:
        return {
            "days": self.days,
            "total": self.total,
            "answer_rate": self.answer_rate,
            "outcomes": self.outcomes,
            "top_entries": self.top_entries,
            "upvotes": self.upvotes,
            "downvotes": self.downvotes,
            "busiest_channels": self.busiest_channels,
            "per_day": self.per_day,
        }


def _stats(connection: sqlite3.Connection, days: int | None) -> Stats:
    start = since(days)
    # One pass over the period's rows, the per-day, per-outcome, per-topic and per-channel counts at once.
    outcomes: Counter[str] = Counter()
    entries: Counter[str] = Counter()
    channels: Counter[int] = Counter()
    per_day: dict[str, list[int]] = {}
    for day, outcome, entry_id, channel_id, count in connection.execute(
        "SELECT substr(asked_at, 1, 10), outcome, entry_id, channel_id, COUNT(*) FROM queries"
        " WHERE asked_at >= ? GROUP BY 1, 2, 3, 4",
        (start,),
    ):
        outcomes[outcome] += count
        if outcome == "answered":
            entries[entry_id] += count
        if channel_id is not None:
            channels[channel_id] += count
        tally = per_day.setdefault(day, [0, 0])
        tally[0 if outcome == "answered" else 1] += count
    votes = dict(
        connection.execute(
            "SELECT f.vote, COUNT(*) FROM feedback f JOIN queries q ON q.id = f.query_id"
            " WHERE q.asked_at >= ? GROUP BY f.vote",
            (start,),
        ).fetchall()
    )
    return Stats(
        days=days,
        total=sum(outcomes.values()),
        outcomes=dict(sorted(outcomes.items())),
        top_entries=sorted(entries.items(), key=lambda item: (-item[1], item[0]))[:5],
        upvotes=votes.get(1, 0),
        downvotes=votes.get(-1, 0),
        busiest_channels=sorted(channels.items(), key=lambda item: (-item[1], item[0]))[:5],
        per_day=[(day, yes, no) for day, (yes, no) in sorted(per_day.items())],
    )


@unavailable_on_failure
async def stats(db: aiosqlite.Connection, days: int | None = 30) -> Stats:
    return await off_loop(db, _stats, days)


# --- export -------------------------------------------------------------------------------------------

EXPORT_COLUMNS = (*QUERY_COLUMNS, "upvotes", "downvotes")


class TextSink(Protocol):
    def write(self, text: str, /) -> object: ...


def write_csv(
    connection: sqlite3.Connection, out: TextSink, days: int | None, stop: Callable[[], bool] | None = None
) -> int:
    """Stream the period's rows to ``out`` as CSV, one row at a time; return how many were written.

    ``stop`` is asked after every row: when it says so, writing ends there.
    """
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    written = 0
    query = (
        f"SELECT {', '.join('q.' + c for c in QUERY_COLUMNS)},"
        " (SELECT COUNT(*) FROM feedback f WHERE f.query_id = q.id AND f.vote > 0),"
        " (SELECT COUNT(*) FROM feedback f WHERE f.query_id = q.id AND f.vote < 0)"
        " FROM queries q WHERE q.asked_at >= ? ORDER BY q.id"
    )
    for row in connection.execute(query, (since(days),)):
        writer.writerow(tuple(_cell(value) for value in row))
        written += 1
        if stop is not None and stop():
            break
    return written


@dataclass(frozen=True)
class Export:
    """A CSV export on disk, ready to upload: ``path`` (``.csv``, or ``.csv.gz`` when the plain file is too big)."""

    path: Path
    rows: int  # rows in the file
    total: int  # rows in the period
    compressed: bool

    @property
    def complete(self) -> bool:
        return self.rows == self.total


class _GzipMembers:
    """A text sink that gzips what it is given in members of about ``chunk`` characters (a gzip file may hold
    several: ``gunzip`` and every reader join them) and writes a member only while the file stays within
    ``limit`` bytes, so the file always ends on a whole row and never passes the limit."""

    def __init__(self, raw: IO[bytes], limit: int, chunk: int) -> None:
        self.raw, self.limit, self.chunk = raw, limit, chunk
        self.parts: list[str] = []
        self.buffered = self.size = self.rows = self.pending = 0
        self.full = False

    def write(self, text: str) -> int:
        self.parts.append(text)
        self.buffered += len(text)
        return len(text)

    def row_done(self) -> bool:
        """After each row: True when the file is full (stop writing)."""
        self.pending += 1
        if self.buffered >= self.chunk:
            self.emit()
        return self.full

    def emit(self) -> None:
        if self.full or not self.parts:
            return
        member = gzip.compress("".join(self.parts).encode("utf-8"), compresslevel=6, mtime=0)
        self.parts, self.buffered = [], 0
        if self.size + len(member) > self.limit:
            self.full = True
            return
        self.raw.write(member)
        self.size += len(member)
        self.rows += self.pending
        self.pending = 0


def _export_file(connection: sqlite3.Connection, days: int | None, folder: Path, limit_bytes: int) -> Export:
    (total,) = connection.execute("SELECT COUNT(*) FROM queries WHERE asked_at >= ?", (since(days),)).fetchone()
    name = f"allybot-queries-{days or 'all'}d.csv"
    plain = folder / name
    with plain.open("w", encoding="utf-8", newline="") as out:
        rows = write_csv(connection, out, days, stop=lambda: out.tell() > limit_bytes)
    if rows == total and plain.stat().st_size <= limit_bytes:
        return Export(plain, rows, total, compressed=False)
    plain.unlink()
    packed = folder / (name + ".gz")
    with packed.open("wb") as raw:
        sink = _GzipMembers(raw, limit_bytes, chunk=max(4096, min(1 << 20, limit_bytes // 8)))
        write_csv(connection, sink, days, stop=sink.row_done)
        sink.emit()
    return Export(packed, sink.rows, total, compressed=True)


@unavailable_on_failure
async def export_file(db: aiosqlite.Connection, days: int | None, folder: Path, limit_bytes: int) -> Export:
    """The period's rows as a file in ``folder`` of at most ``limit_bytes``: plain CSV when it fits, else gzipped,
    and when even that does not fit, the oldest rows that do (``Export.complete`` is then False). Written off the
    event loop, one row at a time: memory stays flat whatever the size."""
    return await off_loop(db, _export_file, days, folder, limit_bytes)


@unavailable_on_failure
async def export_csv(db: aiosqlite.Connection, days: int | None = 30) -> str:
    """The period's rows as one CSV string (small logs and tests; :func:`export_file` streams)."""

    def work(connection: sqlite3.Connection) -> str:
        out = io.StringIO()
        write_csv(connection, out, days)
        return out.getvalue()

    return await off_loop(db, work)


def _cell(value: object) -> object:
    """Questions are user text: keep a spreadsheet from reading "=..." as a formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
