"""The path README's "Changing allybot" gives for a new query-log column, end to end on a real file:
a migration appended to the schema's list, the column named in QUERY_COLUMNS, a value in each row the
store writes; a log written before the change is migrated in place and keeps its rows."""

from __future__ import annotations

import collections
import csv
import io
import sqlite3
from pathlib import Path
from typing import cast

import pytest

from bot.querylog import reports, schema, store
from bot.querylog.store import QueryLog
from bot.service import AnswerService, QuerySource
from tests.conftest import TINY_KB

NEW_COLUMN = "locale"


# In the code the change is a field on schema.QueryRow; here, that row type with the field added.
QueryRowWithLocale = collections.namedtuple("QueryRowWithLocale", (*schema.QueryRow._fields, NEW_COLUMN))  # type: ignore[misc]


class LogWithLocale(QueryLog):
    """The store after the change: every question row also carries a locale, by name."""

    def _enqueue(self, item: store.Pending) -> None:
        if isinstance(item, store.PendingQuery):
            item = item._replace(
                row=cast(schema.QueryRow, QueryRowWithLocale(**item.row._asdict(), **{NEW_COLUMN: "en-GB"}))
            )
        super()._enqueue(item)


async def test_a_new_column_migrates_an_old_log_and_round_trips(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    database = tmp_path / "log.sqlite3"
    before = QueryLog(database)  # the log as today's allybot writes it
    await before.open()
    old = AnswerService(TINY_KB, recorder=before).answer("PfP", source=QuerySource.CLI)
    await before.close()

    migration = f"ALTER TABLE queries ADD COLUMN {NEW_COLUMN} TEXT;"
    monkeypatch.setattr(schema, "MIGRATIONS", (*schema.MIGRATIONS, migration))
    monkeypatch.setattr(schema, "SCHEMA_VERSION", len(schema.MIGRATIONS))
    columns = (*schema.QUERY_COLUMNS, NEW_COLUMN)
    for module in (schema, store, reports):
        monkeypatch.setattr(module, "QUERY_COLUMNS", columns)
    monkeypatch.setattr(reports, "EXPORT_COLUMNS", (*columns, "upvotes", "downvotes"))

    after = LogWithLocale(database)
    await after.open()
    new = AnswerService(TINY_KB, recorder=after).answer("mutual defence clause", source=QuerySource.CLI)
    await after.flush()
    exported = list(csv.DictReader(io.StringIO(await reports.export_csv(await after.connection(), None))))
    await after.close()

    with sqlite3.connect(database) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (schema.SCHEMA_VERSION,)
        stored = db.execute(f"SELECT id, question, {NEW_COLUMN} FROM queries ORDER BY id").fetchall()
    assert stored == [(old.query_id, "PfP", None), (new.query_id, "mutual defence clause", "en-GB")]
    assert [(row["question"], row[NEW_COLUMN]) for row in exported] == [("PfP", ""), ("mutual defence clause", "en-GB")]
