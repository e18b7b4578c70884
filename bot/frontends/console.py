"""The offline console: the Discord bot's answers in a terminal, no token needed.

Reads one question per line from an asynchronous source of lines (the command
line reads stdin, a terminal or a pipe, without blocking the event loop, so the
query log keeps writing). After an answer, typing a number opens the matching
"did you mean" choice or related topic, the console's version of the Discord buttons.
"""

from __future__ import annotations

from collections.abc import AsyncIterable
from typing import TextIO

from bot.frontends.terminal import render_answer, render_entry, render_topics
from bot.knowledge.loader import KnowledgeError
from bot.knowledge.model import Entry
from bot.matching.matcher import Outcome
from bot.service import AnswerService, QuerySource, Topic

HELP = """\
Type a question and press Enter. Commands:
  :topics [CATEGORY]   list categories, or the topics in one
  :topic ID-OR-TITLE   show one topic
  1, 2, 3              open a numbered choice from the last answer
  :reload              reload the knowledge base from disk
  :help                this text
  :quit                leave (end of input works too)
Every answer names its sources (article › section); the articles say they were written
with AI assistance, so check anything that matters against official NATO material."""


class Console:
    def __init__(self, service: AnswerService, out: TextIO, *, interactive: bool) -> None:
        self._service, self._out, self._interactive = service, out, interactive
        self._choices: list[Entry] = []

    async def run(self, lines: AsyncIterable[str]) -> int:
        knowledge = self._service.knowledge
        self._say(
            f"allybot console: {len(knowledge)} topics (knowledge base {knowledge.version}). "
            "Ask a question; :help for commands, :quit to leave."
        )
        self._prompt()
        async for line in lines:
            if not self.handle(line.strip()):
                break
            self._prompt()
        return 0

    def handle(self, line: str) -> bool:
        """Act on one input line; False when the user asked to leave."""
        if not line:
            return True
        command, _, argument = line.partition(" ")
        if command in (":quit", ":q", ":exit"):
            return False
        if command == ":help":
            self._say(HELP)
        elif command == ":topics":
            self._say(render_topics(self._service.knowledge, argument.strip() or None))
        elif command == ":topic":
            self._show_topic(argument.strip())
        elif command == ":reload":
            self._reload()
        elif line.isdigit():
            self._open_choice(int(line))
        elif line.startswith(":"):
            self._say(f"Unknown command {command}; type :help for the list.")
        else:
            self._ask(line)
        return True

    def _ask(self, question: str) -> None:
        answer = self._service.answer(question, source=QuerySource.CONSOLE)
        self._say(render_answer(answer))
        if answer.outcome is Outcome.SUGGESTED:
            self._choices = list(answer.suggestions)
        elif answer.topic:
            self._choices = list(answer.topic.related)
        else:
            self._choices = []
            self._say("Browse what I know with :topics.")

    def _show_topic(self, wanted: str) -> None:
        topic = self._service.find_topic(wanted)
        if topic is None:
            self._say("Which topic? Give an id or a title, e.g. :topic article-5 (see :topics).")
            return
        self._show(topic)

    def _open_choice(self, number: int) -> None:
        if not 1 <= number <= len(self._choices):
            self._say(
                "There is no such choice; ask a question first."
                if not self._choices
                else f"Choose a number from 1 to {len(self._choices)}."
            )
            return
        topic = self._service.topic(self._choices[number - 1].id)
        if topic is None:
            self._say("That topic is no longer in the knowledge base; see :topics.")
            return
        self._show(topic)

    def _show(self, topic: Topic) -> None:
        self._say(render_entry(topic))
        self._choices = list(topic.related)

    def _reload(self) -> None:
        try:
            change = self._service.reload()
        except KnowledgeError as error:
            self._say(
                "Reload failed; still using the previous knowledge base:\n"
                + "\n".join(f"  {p}" for p in error.problems)
                + (f"\n  ... and {error.not_shown} more (run: allybot kb check)" if error.not_shown else "")
            )
            return
        self._say(
            f"Reloaded (version {change.version}): {len(change.added)} added, "
            f"{len(change.removed)} removed, {len(change.edited)} edited."
        )

    def _say(self, text: str) -> None:
        self._out.write(text + "\n\n")
        self._out.flush()

    def _prompt(self) -> None:
        if self._interactive:
            self._out.write("> ")
            self._out.flush()
