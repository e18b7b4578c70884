"""A reply shows one knowledge base: the one whose matcher answered, even when a reload lands before it is rendered.

The reload is made to finish exactly between answering and rendering (the window a /kb reload on another
task can hit): the new knowledge base renames the entry's category and its related topic, so a front end
that looked either up after answering would show a mix of both.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.frontends.console import Console
from bot.service import Answer, AnswerService
from tests.discord_harness import Harness, option, slash

QUESTION = "what does the mutual defence clause require?"


def edit_knowledge(kb_dir: Path) -> None:
    categories = kb_dir / "categories.yaml"
    categories.write_text(categories.read_text().replace("title: Treaty\n", "title: Treaty (renamed)\n"))
    entries = kb_dir / "entries.yaml"
    entries.write_text(entries.read_text().replace("title: The founding treaty\n", "title: The treaty, renamed\n"))


class ReloadedBeforeRendering(AnswerService):
    """Answers, then (as another task would) reloads the edited knowledge base before the front end renders."""

    def answer(self, question: str, **kwargs: Any) -> Answer:
        answered = super().answer(question, **kwargs)
        edit_knowledge(Path(self.knowledge.directory))
        self.reload()
        return answered


async def test_discord_renders_the_answer_from_the_knowledge_base_that_answered(kb_copy: Path):
    service = ReloadedBeforeRendering(kb_copy)
    harness = await Harness.start(Settings(), service)
    try:
        payload = (await harness.interact(slash("ask", option("question", QUESTION)))).json["data"]
    finally:
        await harness.stop()
    [embed] = payload["embeds"]
    assert embed["title"] == "The mutual defence clause"
    assert embed["author"]["name"] == "Treaty", "the category title of the knowledge base that answered"
    [related] = [c for row in payload["components"] for c in row["components"] if c["custom_id"].endswith("treaty")]
    assert related["label"] == "The founding treaty", "its related topic, as it was when answering"
    assert service.knowledge.category_title("treaty") == "Treaty (renamed)", "the reload did happen"


def test_console_renders_the_answer_from_the_knowledge_base_that_answered(kb_copy: Path):
    out = io.StringIO()

    async def typed() -> AsyncIterator[str]:
        yield QUESTION

    asyncio.run(Console(ReloadedBeforeRendering(kb_copy), out, interactive=False).run(typed()))
    assert "Related topics:\n  1. The founding treaty [founding-treaty]" in out.getvalue()
