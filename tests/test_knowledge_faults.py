"""Knowledge-base faults while allybot runs: `kb check`, `/kb reload` and the console's `:reload`.

Each fault breaks a copy of the tiny knowledge base whose founding-treaty entry lives in its own
file (treaty.yaml, related to from entries.yaml), the way an edit, a bad save, an editor still
writing or a `git checkout` would. Every front end must name the file and line, and the running bot
must keep answering from the knowledge base it had, including about the entry in the broken file.
"""

from __future__ import annotations

import asyncio
import io
import os
import shutil
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.app import App, open_app
from bot.config import Settings
from bot.frontends.console import Console
from tests.conftest import TINY_KB, run_cli
from tests.discord_harness import Harness, assert_sendable, option, slash

MANAGE_SERVER = 1 << 5
QUESTION = "which treaty created the alliance?"  # answered by the entry in treaty.yaml
ANSWER_TITLE = "The founding treaty"


def no_log_app(kb_dir: Path) -> AbstractAsyncContextManager[App]:
    """The app over ``kb_dir`` with logging off (as ``--no-log``)."""
    return open_app(Settings(knowledge_dir=kb_dir, snapshot_dir=None), log_queries=False)


@pytest.fixture
def kb_dir(tmp_path: Path) -> Path:
    """The tiny knowledge base with the founding-treaty entry moved to treaty.yaml."""
    target = tmp_path / "kb"
    shutil.copytree(TINY_KB, target)
    text = (target / "entries.yaml").read_text(encoding="utf-8")
    start, end = text.index("  - id: founding-treaty"), text.index("  - id: peace-partnership")
    (target / "entries.yaml").write_text(text[:start] + text[end:], encoding="utf-8")
    (target / "treaty.yaml").write_text("entries:\n" + text[start:end], encoding="utf-8")
    return target


Apply = Callable[[Path, pytest.MonkeyPatch], None]


def replace(old: bytes, new: bytes, file: str = "treaty.yaml") -> Apply:
    def apply(directory: Path, _: pytest.MonkeyPatch) -> None:
        raw = (directory / file).read_bytes()
        assert old in raw, f"fixture text {old!r} not found"
        (directory / file).write_bytes(raw.replace(old, new, 1))

    return apply


def cut_after(marker: bytes, file: str = "treaty.yaml") -> Apply:
    """The file as a reader sees it while an editor has written it up to the end of ``marker``."""

    def apply(directory: Path, _: pytest.MonkeyPatch) -> None:
        raw = (directory / file).read_bytes()
        (directory / file).write_bytes(raw[: raw.index(marker) + len(marker)])

    return apply


def extra(make: Callable[[Path], object]) -> Apply:
    """Something named extra.yaml that is not a regular file: ``make`` creates it at the path it gets."""

    def apply(directory: Path, _: pytest.MonkeyPatch) -> None:
        make(directory / "extra.yaml")

    return apply


def symlink_loop(path: Path) -> None:
    path.symlink_to(path.with_name("other.yml"))
    path.with_name("other.yml").symlink_to(path)


def remove(directory: Path, _: pytest.MonkeyPatch) -> None:
    (directory / "treaty.yaml").unlink()


def vanish_while_read(directory: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """treaty.yaml disappears after the loader listed the folder, before it reads the file (a checkout).

    Only the moment is staged: the file really is deleted just before the real read, which fails as it would.
    """
    read_bytes = Path.read_bytes

    def read_after_removal(path: Path) -> bytes:
        if path == directory / "treaty.yaml" and path.exists():
            path.unlink()
        return read_bytes(path)

    monkeypatch.setattr(Path, "read_bytes", read_after_removal)


@dataclass(frozen=True)
class Fault:
    name: str
    apply: Apply
    expected: str  # a problem as `kb check` prints it: file:line [entry]: message (or its beginning)
    on_disk: bool = True  # False: a moment during a reload, not a state `kb check` could find


FAULTS = [
    Fault("yaml-syntax", replace(b"title: The founding treaty", b"title: [unclosed"), "treaty.yaml:4: YAML syntax"),
    Fault(
        "wrong-type",
        replace(b"title: The founding treaty", b"title: 1949"),
        "treaty.yaml:3 [founding-treaty]: title must be text, not int (quote it)",
    ),
    Fault(
        "duplicate-id",
        replace(b"id: partner-exercises", b"id: founding-treaty", "entries.yaml"),
        "treaty.yaml:2 [founding-treaty]: duplicate id: already used at entries.yaml:30",
    ),
    Fault("not-utf-8", replace(b"about the treaty", b"about \xff\xfe treaty"), "treaty.yaml:5: not valid UTF-8"),
    Fault(
        "cut-mid-entry",
        cut_after(b"    category: tr"),
        "treaty.yaml:2 [founding-treaty]: missing required field 'summary'",
    ),
    Fault(
        "cut-in-the-last-line",
        cut_after(b"section: The Intersection of N"),
        "treaty.yaml:14: no line break at the end of the file",
    ),
    Fault(
        "cut-mid-character", cut_after(b"Foundations of NATO\xe2", "entries.yaml"), "entries.yaml:17: not valid UTF-8"
    ),
    Fault("emptied", cut_after(b""), "treaty.yaml: the file is empty"),
    Fault("removed", remove, "entries.yaml:2 [mutual-defence]: related 'founding-treaty' is not an entry id"),
    Fault(  # 600 levels: Python's recursion gives out (it did from about 248), libyaml's own limit is 1,000
        "nested-too-deep",
        replace(b"title: The founding treaty", b"title: " + b"[" * 600 + b"]" * 600),
        "treaty.yaml:3: nested too deeply: more than 50 levels of lists and mappings",
    ),
    Fault(
        "impossible-date",
        replace(b"title: The founding treaty", b"title: 1949-02-30"),
        "treaty.yaml:3: YAML syntax error: cannot read the value '1949-02-30': day is out of range for month",
    ),
    Fault("a-folder", extra(Path.mkdir), "extra.yaml: cannot read file: it is a folder, not a regular file"),
    Fault("a-fifo", extra(os.mkfifo), "extra.yaml: cannot read file: it is a named pipe (FIFO), not a regular file"),
    Fault(
        "a-device",
        extra(lambda path: path.symlink_to(os.devnull)),
        "extra.yaml: cannot read file: it is a device, not a regular file",
    ),
    Fault(
        "dangling-symlink",
        extra(lambda path: path.symlink_to(path.with_name("gone.yaml"))),
        "extra.yaml: cannot read file: a broken symbolic link (to ",
    ),
    Fault("symlink-loop", extra(symlink_loop), "extra.yaml: cannot read file: a symbolic link loop"),
    Fault(
        "vanished-while-read",
        vanish_while_read,
        "treaty.yaml: cannot read file: No such file or directory",
        on_disk=False,
    ),
]


def by_name(fault: Fault) -> str:
    return fault.name


@pytest.mark.parametrize("fault", [f for f in FAULTS if f.on_disk], ids=by_name)
def test_kb_check_names_file_and_line(kb_dir, fault, monkeypatch):
    fault.apply(kb_dir, monkeypatch)  # kb_dir itself loads: the other tests here start from it
    result = run_cli("kb", "check", str(kb_dir))
    assert result.returncode == 1 and "Traceback" not in result.stdout + result.stderr
    assert f"\n  {fault.expected}" in result.stdout, result.stdout


@pytest.mark.parametrize("fault", FAULTS, ids=by_name)
async def test_kb_reload_names_file_and_line_and_keeps_serving(kb_dir, fault, monkeypatch):
    async with no_log_app(kb_dir) as app:
        await reload_faulty(app, fault, monkeypatch)


async def reload_faulty(app: App, fault: Fault, monkeypatch: pytest.MonkeyPatch) -> None:
    service = app.service
    kb_dir = Path(service.knowledge.directory)
    version = service.knowledge.version
    harness = await Harness.start(app.settings, service)
    try:
        fault.apply(kb_dir, monkeypatch)
        reply = await harness.interact_deferred(slash("reload", group="kb", permissions=MANAGE_SERVER))
        asked = await harness.interact(slash("ask", option("question", QUESTION)))
    finally:
        await harness.stop()
    assert_sendable(reply)
    [embed] = reply["embeds"]
    assert embed["title"] == "Reload failed: still serving the previous knowledge base"
    assert f"• {fault.expected}" in embed["description"], embed["description"]
    assert service.knowledge.version == version
    assert asked.json["data"]["embeds"][0]["title"] == ANSWER_TITLE


@pytest.mark.parametrize("fault", FAULTS, ids=by_name)
def test_console_reload_names_file_and_line_and_keeps_serving(kb_dir, fault, monkeypatch):
    out = io.StringIO()

    async def typed() -> AsyncIterator[str]:
        yield QUESTION
        fault.apply(kb_dir, monkeypatch)
        yield ":reload"
        yield QUESTION

    async def console() -> None:
        async with no_log_app(kb_dir) as app:
            await Console(app.service, out, interactive=False).run(typed())

    asyncio.run(console())
    text = out.getvalue()
    assert "Reload failed; still using the previous knowledge base:" in text
    assert f"\n  {fault.expected}" in text, text
    assert text.count(f"{ANSWER_TITLE}\n===") == 2, "answered before and after the failed reload"


async def test_a_file_cut_between_entries_reloads_and_says_what_went(kb_dir, monkeypatch):
    """Indistinguishable from deleting the last entry on purpose: the reload succeeds and names it."""
    async with no_log_app(kb_dir) as app:
        harness = await Harness.start(app.settings, app.service)
        try:
            cut_after(b"(PfP)\n", "entries.yaml")(kb_dir, monkeypatch)
            reply = await harness.interact_deferred(slash("reload", group="kb", permissions=MANAGE_SERVER))
        finally:
            await harness.stop()
    [embed] = reply["embeds"]
    assert embed["title"].startswith("Reloaded") and embed["description"] == "Removed: partner-exercises"
