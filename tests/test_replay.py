"""Replay (bot/querylog/replay.py): logged questions asked again of an edited knowledge base, on real files."""

from __future__ import annotations

import json
import re
from pathlib import Path

from bot.app import open_app
from bot.service import Asker, QuerySource
from tests.conftest import app_settings, run_cli
from tests.discord_harness import slash
from tests.test_moderation import MANAGE_SERVER, Bot

ASKED = [
    ("if one ally is attacked do the others have to help?", 2),  # answered: mutual-defence
    # answered: peace-partnership; once it is dropped, no entry is close ("how do non-member countries cooperate"
    # would be: partner-exercises answers it, a change of topic)
    ("what programme do non-members join?", 1),
    ("best pizza in town", 3),  # unanswered
    ("which treaty created the alliance?", 1),  # answered, and stays so
]


def edit(kb: Path) -> None:
    """Rename mutual-defence, drop peace-partnership, teach the YAML the pizza question."""
    entries = kb / "entries.yaml"
    text = entries.read_text(encoding="utf-8")
    text = text.replace("id: mutual-defence", "id: collective-defence").replace(
        "related: [mutual-defence]", "related: [collective-defence]"
    )
    text = re.sub(r"  - id: peace-partnership\n(?:    .*\n|      .*\n)+", "", text)
    text = text.replace(
        "      - do partner countries train with the alliance?\n",
        "      - do partner countries train with the alliance?\n      - best pizza in town\n",
    )
    entries.write_text(text, encoding="utf-8")


async def log_questions(kb: Path, folder: Path) -> Path:
    async with open_app(app_settings(folder, kb)) as app:
        for question, times in ASKED:
            for who in range(times):
                answer = app.service.answer(question, source=QuerySource.SLASH, asker=Asker(who))
                assert answer.answered == (question != "best pizza in town")
    return folder / "log.sqlite3"


async def test_replay_on_the_command_line_reports_each_kind_of_change(kb_copy, tmp_path):
    database = await log_questions(kb_copy, tmp_path)
    same = json.loads(run_cli("logs", "replay", "--json", "--db", str(database), "--knowledge", str(kb_copy)).stdout)
    assert (same["questions"], same["asks"]) == (4, 7)
    assert all(same[kind]["questions"] == 0 for kind in ("now_answered", "changed_topic", "lost"))
    edit(kb_copy)
    found = json.loads(run_cli("logs", "replay", "--json", "--db", str(database), "--knowledge", str(kb_copy)).stdout)
    assert found["now_answered"]["questions"] == 1 and found["now_answered"]["asks"] == 3
    assert found["now_answered"]["examples"][0] == {
        "question": "best pizza in town",
        "asks": 3,
        "before": "unanswered",
        "after": "answered: partner-exercises",
    }
    assert (found["changed_topic"]["questions"], found["changed_topic"]["asks"]) == (1, 2)
    changed = found["changed_topic"]["examples"][0]
    assert (changed["before"], changed["after"]) == ("answered: mutual-defence", "answered: collective-defence")
    assert (found["lost"]["questions"], found["lost"]["asks"]) == (1, 1)
    assert found["lost"]["examples"][0]["before"] == "answered: peace-partnership"
    text = run_cli("logs", "replay", "--db", str(database), "--knowledge", str(kb_copy)).stdout
    assert "1 gaps now answered (3 asks)" in text and "1 answers lost (1 asks)" in text
    checked = run_cli("kb", "check", str(kb_copy), "--replay", str(database))
    assert checked.returncode == 0, checked.stderr
    assert "OK" in checked.stdout and "1 answers that changed topic (2 asks)" in checked.stdout


async def test_learned_phrasings_count_in_the_replay(kb_copy, tmp_path):
    database = await log_questions(kb_copy, tmp_path)
    async with open_app(app_settings(tmp_path, kb_copy)) as app:
        await app.service.teach("best pizza in town", "partner-exercises")
    found = json.loads(run_cli("logs", "replay", "--json", "--db", str(database), "--knowledge", str(kb_copy)).stdout)
    assert found["now_answered"]["questions"] == 1


async def test_kb_reload_says_what_the_edit_does_to_the_last_30_days(kb_copy, tmp_path):
    await log_questions(kb_copy, tmp_path)
    bot = await Bot.start(kb_copy, tmp_path)
    try:
        edit(kb_copy)
        payload = await bot.harness.interact_deferred(slash("reload", group="kb", permissions=MANAGE_SERVER))
        description = payload["embeds"][0]["description"]
        assert "Replay of the last 30 days (4 distinct questions, 7 asks)" in description
        assert "1 gaps now answered (3 asks)" in description and "1 answers lost (1 asks)" in description
    finally:
        await bot.stop()
