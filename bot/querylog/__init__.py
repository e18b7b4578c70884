"""The query log: every question and vote, written off the answer path (see store.py)."""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class QueryLogUnavailable(Exception):
    """The query log cannot be used right now: turned off, or its file cannot be opened, read or written.

    The message says why in the file's own words ("database is locked", "file is not a database").
    Front ends catch this, and only this, as "the log is off"; any other exception is a bug.
    """


def unavailable_on_failure(function: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """``function`` with SQLite's and the file system's errors raised as :class:`QueryLogUnavailable`."""

    @functools.wraps(function)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await function(*args, **kwargs)
        except (sqlite3.Error, OSError) as error:
            raise QueryLogUnavailable(str(error)) from error

    return wrapper
