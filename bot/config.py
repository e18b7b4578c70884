"""Settings from the environment or a ``.env`` file, validated once at start.

Every setting is one row of :data:`SETTINGS`: its name, the :class:`Settings` field it fills and its
parser; its default is the dataclass field's default, stated nowhere else. ``.env.example`` documents
them all, defaults as comments (a test keeps the two in step). A bad value stops start-up with one
line naming the setting (:class:`SettingsError`), never a traceback, and every accepted value is in a
range the bot can run with (a rate of at least one question, finite seconds and days, ids that are
Discord snowflakes), so nothing accepted at start fails later. The Discord token is kept out of
``repr`` so it cannot leak into logs or error messages.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.matching.matcher import Thresholds

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Where the default folders (knowledge/, data/) are: the checkout's when allybot runs from one; an installed package
# has no project beside it, so the working directory's, where .env is read from too.
DEFAULTS_ROOT = PROJECT_ROOT if (PROJECT_ROOT / "pyproject.toml").is_file() else Path.cwd()
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
MAX_SNOWFLAKE = 2**63 - 1  # Discord ids are 64-bit snowflakes whose top bit is never set (SQLite's INTEGER, too)
MAX_COOLDOWN_RATE = 10_000  # questions per window: each user's window keeps one timestamp per question
MAX_COOLDOWN_SECONDS = 86_400.0  # one day
MAX_RETENTION_DAYS = 36_500  # a hundred years; 0 keeps questions forever
_WHOLE = re.compile(r"[0-9]{1,20}")  # ASCII digits only: str.isdigit() also accepts "²", which int() refuses
_DECIMAL = re.compile(r"[0-9]{1,20}(?:\.[0-9]{0,20})?|\.[0-9]{1,20}")  # no sign, exponent, inf or nan


class SettingsError(ValueError):
    """A setting has a value allybot cannot use; the message names the setting."""


@dataclass(frozen=True)
class Settings:
    discord_token: str | None = field(default=None, repr=False)
    knowledge_dir: Path = DEFAULTS_ROOT / "knowledge"
    db_path: Path = DEFAULTS_ROOT / "data" / "allybot.sqlite3"
    # Where built indexes are saved for fast restarts; None: not saved. load_settings defaults it to
    # a "snapshots" folder beside db_path (the one default that depends on another setting).
    snapshot_dir: Path | None = None
    home_guild_id: int | None = None
    ask_channel_ids: frozenset[int] = frozenset()
    moderator_role_id: int | None = None
    thresholds: Thresholds = field(default_factory=Thresholds)
    cooldown_rate: int = 5  # questions per user ...
    cooldown_seconds: float = 30.0  # ... per this many seconds
    retention_days: int | None = 365  # purge logged questions older than this; None keeps them
    user_hash_salt: str | None = field(default=None, repr=False)
    log_level: str = "INFO"


class _Invalid(ValueError):
    """A parser's "expected ..." phrase; load_settings adds the setting's name and the value."""


def _whole(raw: str, low: int, high: int, what: str) -> int:
    if not _WHOLE.fullmatch(raw) or not low <= int(raw) <= high:
        raise _Invalid(what)
    return int(raw)


def _decimal(raw: str, low: float, high: float, what: str, *, low_included: bool = True) -> float:
    value = float(raw) if _DECIMAL.fullmatch(raw) else float("nan")
    if not (low <= value if low_included else low < value) or not value <= high:
        raise _Invalid(what)
    return value


def _snowflake(raw: str) -> int:
    return _whole(raw, 1, MAX_SNOWFLAKE, "a Discord id (a positive whole number, at most 19 digits)")


def _snowflakes(raw: str) -> frozenset[int]:
    return frozenset(_snowflake(part.strip()) for part in raw.split(",") if part.strip())


def _score(raw: str) -> float:
    return _decimal(raw, 0, 100, "a score from 0 to 100")


def _cooldown_rate(raw: str) -> int:
    return _whole(raw, 1, MAX_COOLDOWN_RATE, f"a whole number of questions from 1 to {MAX_COOLDOWN_RATE:,}")


def _cooldown_seconds(raw: str) -> float:
    what = f"a number of seconds above 0 and at most {MAX_COOLDOWN_SECONDS:,.0f}"
    return _decimal(raw, 0, MAX_COOLDOWN_SECONDS, what, low_included=False)


def _retention(raw: str) -> int | None:
    """Days to keep logged questions; 0 means keep them forever."""
    what = f"a whole number of days from 0 (keep forever) to {MAX_RETENTION_DAYS:,}"
    return _whole(raw, 0, MAX_RETENTION_DAYS, what) or None


def _path(raw: str) -> Path:
    try:
        return Path(raw).expanduser().resolve()
    except (OSError, RuntimeError, ValueError) as error:  # "~nobody", a NUL byte, a symlink loop
        raise _Invalid(f"a usable path ({error})") from error


def _snapshot_dir(raw: str) -> Path | None:
    return None if raw.lower() == "off" else _path(raw)


def _level(raw: str) -> str:
    if raw.upper() not in LOG_LEVELS:
        raise _Invalid(f"one of {', '.join(LOG_LEVELS)}")
    return raw.upper()


@dataclass(frozen=True)
class Setting:
    """One setting: its variable, the Settings field it fills ("thresholds.answer": a threshold), its parser."""

    name: str
    field: str
    parse: Callable[[str], Any]

    @property
    def default(self) -> Any:
        value: Any = Settings()
        for part in self.field.split("."):
            value = getattr(value, part)
        return value


SETTINGS: tuple[Setting, ...] = (
    Setting("DISCORD_TOKEN", "discord_token", str),
    Setting("ALLYBOT_KNOWLEDGE_DIR", "knowledge_dir", _path),
    Setting("ALLYBOT_DB_PATH", "db_path", _path),
    Setting("ALLYBOT_SNAPSHOT_DIR", "snapshot_dir", _snapshot_dir),
    Setting("ALLYBOT_HOME_GUILD_ID", "home_guild_id", _snowflake),
    Setting("ALLYBOT_ASK_CHANNEL_IDS", "ask_channel_ids", _snowflakes),
    Setting("ALLYBOT_MODERATOR_ROLE_ID", "moderator_role_id", _snowflake),
    Setting("ALLYBOT_ANSWER_THRESHOLD", "thresholds.answer", _score),
    Setting("ALLYBOT_SUGGEST_THRESHOLD", "thresholds.suggest", _score),
    Setting("ALLYBOT_ANSWER_MARGIN", "thresholds.margin", _score),
    Setting("ALLYBOT_COOLDOWN_RATE", "cooldown_rate", _cooldown_rate),
    Setting("ALLYBOT_COOLDOWN_SECONDS", "cooldown_seconds", _cooldown_seconds),
    Setting("ALLYBOT_RETENTION_DAYS", "retention_days", _retention),
    Setting("ALLYBOT_USER_HASH_SALT", "user_hash_salt", str),
    Setting("ALLYBOT_LOG_LEVEL", "log_level", _level),
)


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=value`` lines of a ``.env`` file; comments, blank lines and ``export`` are allowed."""
    values: dict[str, str] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return values
    except (OSError, UnicodeDecodeError) as error:
        raise SettingsError(f"{path}: cannot read the settings file ({error})") from error
    for number, line in enumerate(lines, start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.removeprefix("export ").partition("=")
        if not sep or not key.strip():
            raise SettingsError(f"{path}:{number}: expected KEY=value")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def _shown(raw: str, limit: int = 60) -> str:
    return repr(raw if len(raw) <= limit else raw[:limit] + "…")


def load_settings(environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")) -> Settings:
    """Settings from ``environ`` (default: the process environment) over ``env_file``."""
    values = read_env_file(env_file) if env_file else {}
    values.update(os.environ if environ is None else environ)
    parsed: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = values.get(setting.name, "").strip()
        if not raw:
            continue
        try:
            parsed[setting.field] = setting.parse(raw)
        except _Invalid as error:
            raise SettingsError(f"{setting.name}: expected {error}, got {_shown(raw)}") from None
    default = Thresholds()
    answer, suggest, margin = (
        parsed.pop(f"thresholds.{k}", getattr(default, k)) for k in ("answer", "suggest", "margin")
    )
    if suggest > answer:  # name the one that was set (the suggest threshold when both were)
        if values.get("ALLYBOT_SUGGEST_THRESHOLD", "").strip():
            message = f"ALLYBOT_SUGGEST_THRESHOLD: {suggest:g} is above ALLYBOT_ANSWER_THRESHOLD {answer:g}"
        else:
            message = f"ALLYBOT_ANSWER_THRESHOLD: {answer:g} is below ALLYBOT_SUGGEST_THRESHOLD {suggest:g}"
        raise SettingsError(f"{message}; it must not be")
    parsed["thresholds"] = Thresholds(answer=answer, suggest=suggest, margin=margin)
    if "snapshot_dir" not in parsed:
        parsed["snapshot_dir"] = parsed.get("db_path", Settings.db_path).parent / "snapshots"
    return dataclasses.replace(Settings(), **parsed)
