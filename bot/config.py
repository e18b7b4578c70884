"""Settings from the environment or a ``.env`` file, validated once at start.

Every setting is documented, with its default, in ``.env.example``. A bad value
stops start-up with one line naming the setting (:class:`SettingsError`), never
a traceback. The Discord token is kept out of ``repr`` so it cannot leak into
logs or error messages.
"""

from __future__ import annotations

import os
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


class SettingsError(ValueError):
    """A setting has a value allybot cannot use; the message names the setting."""


@dataclass(frozen=True)
class Settings:
    discord_token: str | None = field(default=None, repr=False)
    knowledge_dir: Path = DEFAULTS_ROOT / "knowledge"
    db_path: Path = DEFAULTS_ROOT / "data" / "allybot.sqlite3"
    snapshot_dir: Path | None = None  # where built indexes are saved for fast restarts; None: not saved
    home_guild_id: int | None = None
    ask_channel_ids: frozenset[int] = frozenset()
    moderator_role_id: int | None = None
    thresholds: Thresholds = field(default_factory=Thresholds)
    cooldown_rate: int = 5  # questions per user ...
    cooldown_seconds: float = 30.0  # ... per this many seconds
    retention_days: int | None = 365  # purge logged questions older than this; None keeps them
    user_hash_salt: str | None = field(default=None, repr=False)
    log_level: str = "INFO"


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


def _snowflake(name: str, raw: str) -> int:
    if not raw.isdigit() or not 0 < int(raw) < 2**64:
        raise SettingsError(f"{name}: expected a Discord id (a positive whole number), got {raw!r}")
    return int(raw)


def _score(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 100:
        raise SettingsError(f"{name}: expected a score from 0 to 100, got {raw!r}")
    return value


def _positive(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise SettingsError(f"{name}: expected a positive number, got {raw!r}")
    return value


def _retention(raw: str) -> int | None:
    """Days to keep logged questions; 0 means keep them forever."""
    if not raw.isdigit():
        raise SettingsError(f"ALLYBOT_RETENTION_DAYS: expected a whole number of days (0 = keep forever), got {raw!r}")
    return int(raw) or None


def _path(raw: str) -> Path:
    return Path(raw).expanduser().resolve()


def _snapshot_dir(raw: str) -> Path | None:
    return None if raw.lower() == "off" else _path(raw)


def load_settings(environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")) -> Settings:
    """Settings from ``environ`` (default: the process environment) over ``env_file``."""
    values = read_env_file(env_file) if env_file else {}
    values.update(os.environ if environ is None else environ)

    def get(name: str, parse: Callable[[str], Any], default: Any = None) -> Any:
        raw = values.get(name, "").strip()
        return parse(raw) if raw else default

    def ids(raw: str) -> frozenset[int]:
        return frozenset(_snowflake("ALLYBOT_ASK_CHANNEL_IDS", part.strip()) for part in raw.split(",") if part.strip())

    def level(raw: str) -> str:
        if raw.upper() not in LOG_LEVELS:
            raise SettingsError(f"ALLYBOT_LOG_LEVEL: expected one of {', '.join(LOG_LEVELS)}, got {raw!r}")
        return raw.upper()

    defaults = Thresholds()
    answer = get("ALLYBOT_ANSWER_THRESHOLD", lambda r: _score("ALLYBOT_ANSWER_THRESHOLD", r), defaults.answer)
    suggest = get("ALLYBOT_SUGGEST_THRESHOLD", lambda r: _score("ALLYBOT_SUGGEST_THRESHOLD", r), defaults.suggest)
    margin = get("ALLYBOT_ANSWER_MARGIN", lambda r: _score("ALLYBOT_ANSWER_MARGIN", r), defaults.margin)
    if suggest > answer:
        raise SettingsError(
            f"ALLYBOT_SUGGEST_THRESHOLD: {suggest:g} is above ALLYBOT_ANSWER_THRESHOLD {answer:g}; it must not be"
        )
    db_path = get("ALLYBOT_DB_PATH", _path, Settings.db_path)
    return Settings(
        discord_token=get("DISCORD_TOKEN", str),
        knowledge_dir=get("ALLYBOT_KNOWLEDGE_DIR", _path, Settings.knowledge_dir),
        db_path=db_path,
        snapshot_dir=get("ALLYBOT_SNAPSHOT_DIR", _snapshot_dir, db_path.parent / "snapshots"),
        home_guild_id=get("ALLYBOT_HOME_GUILD_ID", lambda r: _snowflake("ALLYBOT_HOME_GUILD_ID", r)),
        ask_channel_ids=get("ALLYBOT_ASK_CHANNEL_IDS", ids, frozenset()),
        moderator_role_id=get("ALLYBOT_MODERATOR_ROLE_ID", lambda r: _snowflake("ALLYBOT_MODERATOR_ROLE_ID", r)),
        thresholds=Thresholds(answer=answer, suggest=suggest, margin=margin),
        cooldown_rate=int(get("ALLYBOT_COOLDOWN_RATE", lambda r: _positive("ALLYBOT_COOLDOWN_RATE", r), 5)),
        cooldown_seconds=get("ALLYBOT_COOLDOWN_SECONDS", lambda r: _positive("ALLYBOT_COOLDOWN_SECONDS", r), 30.0),
        retention_days=get("ALLYBOT_RETENTION_DAYS", _retention, 365),
        user_hash_salt=get("ALLYBOT_USER_HASH_SALT", str),
        log_level=get("ALLYBOT_LOG_LEVEL", level, "INFO"),
    )
