"""Shared fixtures: the bundled and the tiny test knowledge bases, the app as every entry point builds it, a CLI
runner."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.app import App, open_app
from bot.config import Settings
from bot.knowledge.loader import load_knowledge
from bot.knowledge.model import KnowledgeBase
from bot.service import AnswerService

ROOT = Path(__file__).resolve().parent.parent
BUNDLED_KB = ROOT / "knowledge"
TINY_KB = Path(__file__).parent / "data" / "tiny_kb"


@pytest.fixture(scope="session")
def bundled_kb() -> KnowledgeBase:
    return load_knowledge(BUNDLED_KB)


@pytest.fixture(scope="session")
def tiny_kb() -> KnowledgeBase:
    return load_knowledge(TINY_KB)


@pytest.fixture
def tiny_service(tiny_kb: KnowledgeBase) -> AnswerService:
    return AnswerService(tiny_kb)


def app_settings(folder: Path, knowledge: Path = TINY_KB, base: Settings | None = None, **overrides: Any) -> Settings:
    """``base`` (default: the defaults) for :func:`bot.app.open_app`: a knowledge folder, the query-log file
    ``folder/log.sqlite3``, no snapshots, and no retention purge unless asked for (tests that want one say so)."""
    fixed: dict[str, Any] = {"knowledge_dir": knowledge, "db_path": folder / "log.sqlite3", "snapshot_dir": None}
    return dataclasses.replace(base or Settings(), **{"retention_days": None, **fixed, **overrides})


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[App]:
    """The tiny knowledge base served with a query log on a temporary file, built by the composition root."""
    async with open_app(app_settings(tmp_path)) as opened:
        yield opened


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    """A writable copy of the tiny knowledge base, for tests that break it."""
    target = tmp_path / "kb"
    shutil.copytree(TINY_KB, target)
    return target


def run_cli(
    *args: str, stdin: str = "", cwd: Path | None = None, errors: str = "strict", **env: str
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m bot`` in a clean environment (no token, no .env) and capture its output.

    ``errors`` is how stdin is encoded and stdout decoded: "surrogatepass" sends lone surrogates as the
    (invalid) bytes a broken producer would write.
    """
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("ALLYBOT_", "DISCORD_"))}
    environment["ALLYBOT_DB_PATH"] = str(Path(tempfile.mkdtemp(prefix="allybot-test-")) / "log.sqlite3")
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors=errors,
        cwd=cwd or ROOT / "tests",  # no .env there, whatever a developer keeps in the project root
        env=environment,
        timeout=60,
    )
