"""Words and text handling every front end shares (the terminal and Discord render from here, not from each other)."""

from __future__ import annotations

import re

UNANSWERED = "I don't have an answer for that yet; moderators can see it."
SOURCES_NOTE = "AI-assisted articles"  # as the articles describe themselves; /help and :help say more
# Control characters (a terminal escape sequence) and bidi controls (they would reorder the text around them).
_UNSHOWABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def one_line(text: str) -> str:
    """Someone's text shown inside ours: one line, without control or bidi characters."""
    return " ".join(_UNSHOWABLE.sub(" ", text).split())
