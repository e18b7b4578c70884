"""Settings: defaults, .env files, and one clear line naming the setting on a bad value."""

from __future__ import annotations

import logging
import re
import sqlite3

import pytest
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from bot.config import PROJECT_ROOT, SETTINGS, Settings, SettingsError, load_settings, read_env_file
from bot.frontends.discord_bot.cogs.questions import cooldown_text
from bot.frontends.discord_bot.views import RateLimiter
from bot.querylog.store import retention_cutoff
from tests.conftest import TINY_KB, run_cli
from tests.test_cli import assert_one_line_error

CONTRACT = [
    "DISCORD_TOKEN",
    "ALLYBOT_KNOWLEDGE_DIR",
    "ALLYBOT_DB_PATH",
    "ALLYBOT_HOME_GUILD_ID",
    "ALLYBOT_ASK_CHANNEL_IDS",
    "ALLYBOT_MODERATOR_ROLE_ID",
]


def test_defaults_without_any_setting():
    settings = load_settings({}, env_file=None)
    assert settings.discord_token is None
    assert settings.knowledge_dir == PROJECT_ROOT / "knowledge"
    assert settings.db_path.parent == PROJECT_ROOT / "data"
    assert settings.ask_channel_ids == frozenset() and settings.home_guild_id is None


def test_values_are_parsed(tmp_path):
    settings = load_settings(
        {
            "DISCORD_TOKEN": "abc.def",
            "ALLYBOT_KNOWLEDGE_DIR": str(tmp_path),
            "ALLYBOT_HOME_GUILD_ID": "123456789012345678",
            "ALLYBOT_ASK_CHANNEL_IDS": " 11, 22 ,33,",
            "ALLYBOT_MODERATOR_ROLE_ID": "44",
            "ALLYBOT_ANSWER_THRESHOLD": "80",
            "ALLYBOT_SUGGEST_THRESHOLD": "55.5",
            "ALLYBOT_LOG_LEVEL": "debug",
        },
        env_file=None,
    )
    assert settings.knowledge_dir == tmp_path
    assert settings.home_guild_id == 123456789012345678
    assert settings.ask_channel_ids == {11, 22, 33}
    assert (settings.thresholds.answer, settings.thresholds.suggest) == (80, 55.5)
    assert settings.log_level == "DEBUG"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ALLYBOT_HOME_GUILD_ID", "my-server"),
        ("ALLYBOT_ASK_CHANNEL_IDS", "12,abc"),
        ("ALLYBOT_MODERATOR_ROLE_ID", "-5"),
        ("ALLYBOT_ANSWER_THRESHOLD", "150"),
        ("ALLYBOT_SUGGEST_THRESHOLD", "99"),  # above the answer threshold
        ("ALLYBOT_LOG_LEVEL", "chatty"),
    ],
)
def test_bad_value_names_the_setting(name, value):
    with pytest.raises(SettingsError) as caught:
        load_settings({name: value}, env_file=None)
    message = str(caught.value)
    assert message.startswith(name) and "\n" not in message


def test_env_file_is_read_and_environment_wins(tmp_path):
    env = tmp_path / ".env"
    env.write_text('# comment\nexport ALLYBOT_HOME_GUILD_ID=1\nALLYBOT_MODERATOR_ROLE_ID="2"\n\n', encoding="utf-8")
    assert read_env_file(env) == {"ALLYBOT_HOME_GUILD_ID": "1", "ALLYBOT_MODERATOR_ROLE_ID": "2"}
    settings = load_settings({"ALLYBOT_HOME_GUILD_ID": "9"}, env_file=env)
    assert (settings.home_guild_id, settings.moderator_role_id) == (9, 2)


def test_malformed_env_file_line_is_located(tmp_path):
    env = tmp_path / ".env"
    env.write_text("ALLYBOT_HOME_GUILD_ID=1\nthis is not a setting\n", encoding="utf-8")
    with pytest.raises(SettingsError, match=r"\.env:2: expected KEY=value"):
        load_settings({}, env_file=env)


def test_token_is_not_in_the_repr():
    settings = load_settings({"DISCORD_TOKEN": "SECRET-TOKEN-123"}, env_file=None)
    assert "SECRET-TOKEN-123" not in repr(settings)


DOCUMENTED = re.compile(r"^(# )?([A-Z][A-Z_]+)=(.*)$")


def test_env_example_documents_every_setting_at_its_default(monkeypatch):
    """Each setting once, commented out at the code's own default (so a copied file does not freeze it)."""
    lines = (PROJECT_ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    documented = [m.groups() for m in map(DOCUMENTED.match, lines) if m]
    names = [name for _, name, _ in documented]
    assert sorted(names) == sorted(s.name for s in SETTINGS), "every setting is documented once, and only those"
    assert set(CONTRACT) <= set(names)
    assert read_env_file(PROJECT_ROOT / ".env.example") == {"DISCORD_TOKEN": ""}, "only the token is uncommented"
    monkeypatch.chdir(PROJECT_ROOT)  # documented paths are relative to where allybot starts
    defaults = load_settings({}, env_file=None)
    for _, name, value in documented:
        with_value = load_settings({name: value}, env_file=None)
        assert with_value == defaults, f"{name}={value} in .env.example is not the default"


def test_defaults_come_from_the_dataclass():
    assert [s.default for s in SETTINGS if s.name.startswith("ALLYBOT_COOLDOWN")] == [5, 30.0]
    settings = load_settings({}, env_file=None)
    for setting in SETTINGS:
        if setting.name != "ALLYBOT_SNAPSHOT_DIR":  # the one derived default: beside the query log
            value = settings.thresholds if "." in setting.field else getattr(settings, setting.field)
            assert value == setting.default or getattr(value, setting.field.partition(".")[2]) == setting.default
    assert settings.snapshot_dir == settings.db_path.parent / "snapshots"


# --- every setting has a range the bot can run with ------------------------------------------------------

REPORTED_IN_ISSUE_15 = [
    ("ALLYBOT_COOLDOWN_RATE", "0.5"),  # was int(0.5) = 0: IndexError on every question
    ("ALLYBOT_COOLDOWN_RATE", "0"),
    ("ALLYBOT_COOLDOWN_RATE", "inf"),  # was an OverflowError traceback at start
    ("ALLYBOT_COOLDOWN_RATE", "1e400"),
    ("ALLYBOT_COOLDOWN_SECONDS", "inf"),  # was an OverflowError at a user's sixth question
    ("ALLYBOT_COOLDOWN_SECONDS", "nan"),
    ("ALLYBOT_COOLDOWN_SECONDS", "1e400"),
    ("ALLYBOT_RETENTION_DAYS", "²"),  # was a ValueError traceback: "²".isdigit() is True
    ("ALLYBOT_RETENTION_DAYS", "740000"),  # was accepted, and the purge task died on "date value out of range"
    ("ALLYBOT_RETENTION_DAYS", "9" * 5000),  # beyond int()'s digit limit
    ("ALLYBOT_HOME_GUILD_ID", "²"),
    ("ALLYBOT_HOME_GUILD_ID", str(2**64 - 1)),  # not a snowflake, nor storable in SQLite
    ("ALLYBOT_MODERATOR_ROLE_ID", "¹²"),
    ("ALLYBOT_ASK_CHANNEL_IDS", "11,²"),
    ("ALLYBOT_DB_PATH", "~no-such-user-here/log.sqlite3"),  # was a RuntimeError traceback
    ("ALLYBOT_KNOWLEDGE_DIR", "know\0ledge"),  # a NUL byte (possible in .env): was a ValueError traceback
]


@pytest.mark.parametrize(("name", "value"), REPORTED_IN_ISSUE_15)
def test_values_that_used_to_crash_are_refused_in_one_line(name, value):
    with pytest.raises(SettingsError) as caught:
        load_settings({name: value}, env_file=None)
    message = str(caught.value)
    assert message.startswith(f"{name}: expected ") and "\n" not in message and len(message) < 200, message


def numbers() -> st.SearchStrategy[str]:
    """Text that looks like a number: whole, decimal, signed, huge, tiny, special, in other digits."""
    return st.one_of(
        st.integers(min_value=-(2**70), max_value=2**70).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(str),
        st.floats(min_value=0, max_value=1e6).map(lambda x: f"{x:.3f}"),
        st.sampled_from(["inf", "-inf", "nan", "1e400", "1e-400", "1_000", "0x10", "+5", " 7 ", "5.", ".5", "007"]),
        st.text(alphabet="0123456789²³¹٣٤۵०१߁𝟓.,-+eE_ ", min_size=1, max_size=25),
    )


def setting_values() -> st.SearchStrategy[str]:
    return st.one_of(numbers(), st.text(max_size=40), st.sampled_from(["off", "OFF", "~", "~root", "debug", "info"]))


def assert_runs_with(settings: Settings) -> None:
    """What the bot later does with each setting, done now: none of it may fail."""
    limiter = RateLimiter(settings.cooldown_rate, settings.cooldown_seconds, clock=lambda: 0.0)  # all at once
    waits = [limiter.retry_after(1) for _ in range(min(settings.cooldown_rate, 50) + 1)]
    assert not any(waits[:-1])
    if settings.cooldown_rate <= 50:
        assert waits[-1] == settings.cooldown_seconds > 0
        assert cooldown_text(waits[-1]).startswith("You're asking quickly")
    if settings.retention_days is not None:
        assert settings.retention_days >= 1
        retention_cutoff(settings.retention_days)
    with sqlite3.connect(":memory:") as db:  # ids are stored as SQLite integers (the query log's guild and channel)
        ids = [settings.home_guild_id, settings.moderator_role_id, *settings.ask_channel_ids]
        for i in ids:
            db.execute("SELECT ?", (i,))
    assert all(i is None or 0 < i < 2**63 for i in ids)
    logging.getLogger("allybot-settings-test").setLevel(settings.log_level)
    for path in (settings.knowledge_dir, settings.db_path, settings.snapshot_dir):
        assert path is None or path.is_absolute()


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
@hyp_settings(max_examples=150, deadline=None)
@given(raw=setting_values())
def test_any_value_of_any_setting_starts_or_is_refused_in_one_line(setting, raw):
    try:
        settings = load_settings({setting.name: raw}, env_file=None)
    except SettingsError as error:
        message = str(error)
        assert message.startswith(f"{setting.name}: ") and "\n" not in message, message
        return
    assert_runs_with(settings)


@hyp_settings(max_examples=150, deadline=None)
@given(values=st.dictionaries(st.sampled_from([s.name for s in SETTINGS]), setting_values(), max_size=6))
def test_any_combination_starts_or_is_refused_in_one_line(values):
    try:
        settings = load_settings(values, env_file=None)
    except SettingsError as error:
        name = str(error).partition(":")[0]
        assert name in values and "\n" not in str(error), str(error)
        return
    assert_runs_with(settings)


@pytest.mark.parametrize(("name", "value"), [("ALLYBOT_COOLDOWN_RATE", "1e400"), ("ALLYBOT_RETENTION_DAYS", "²")])
def test_a_bad_setting_exits_2_in_one_line(name, value):
    assert_one_line_error(run_cli("ask", "--knowledge", str(TINY_KB), "hi", **{name: value}), name)
