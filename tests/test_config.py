"""Settings: defaults, .env files, and one clear line naming the setting on a bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT, SettingsError, load_settings, read_env_file

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


def test_env_example_documents_every_setting():
    example = read_env_file(PROJECT_ROOT / ".env.example")
    source = Path(PROJECT_ROOT / "bot" / "config.py").read_text(encoding="utf-8")
    read_by_code = {name for name in example if f'"{name}"' in source}
    assert set(CONTRACT) <= set(example)
    assert read_by_code == set(example), "every documented setting is read, and only those"
    assert load_settings(example, env_file=None).knowledge_dir.name == "knowledge"
