"""Matcher snapshots on a real folder: hits skip parsing, any change misses, bad files are rebuilt, never run."""

from __future__ import annotations

import logging
import os
import pickle
import shutil
from pathlib import Path

import pytest

from bot.knowledge.loader import KnowledgeError
from bot.matching import snapshots as snapshots_module
from bot.matching.matcher import Thresholds
from bot.matching.snapshots import KEEP, Snapshots
from bot.service import AnswerService, QuerySource

from .conftest import TINY_KB

QUESTION = "if an ally gets attacked, must the others help?"


@pytest.fixture
def knowledge_dir(tmp_path: Path) -> Path:
    return Path(shutil.copytree(TINY_KB, tmp_path / "kb"))


@pytest.fixture
def store(tmp_path: Path) -> Snapshots:
    return Snapshots(tmp_path / "snapshots")


def saved(store: Snapshots) -> list[Path]:
    return sorted(store.folder.glob("matcher-*.pickle"))


def no_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object) -> None:
        raise AssertionError("the knowledge base was parsed although a snapshot matched")

    monkeypatch.setattr(snapshots_module, "parse_knowledge", refuse)


def test_the_second_load_comes_from_the_snapshot_without_parsing(knowledge_dir, store, monkeypatch):
    built = store.matcher(knowledge_dir, Thresholds())
    assert len(saved(store)) == 1
    no_parsing(monkeypatch)
    loaded = store.matcher(knowledge_dir, Thresholds())
    assert loaded is not built
    assert loaded.knowledge == built.knowledge
    assert loaded.phrasings == built.phrasings
    assert loaded.match(QUESTION) == built.match(QUESTION)
    assert [e.id for e in loaded.complete("partn")] == [e.id for e in built.complete("partn")]


def test_an_edited_file_other_thresholds_or_other_code_miss(knowledge_dir, store, monkeypatch):
    first = store.matcher(knowledge_dir, Thresholds())
    entries = knowledge_dir / "entries.yaml"
    entries.write_text(entries.read_text().replace("mutual defence", "mutual protection", 1))
    edited = store.matcher(knowledge_dir, Thresholds())
    assert edited.knowledge.version != first.knowledge.version
    assert store.matcher(knowledge_dir, Thresholds(answer=80)).thresholds.answer == 80
    monkeypatch.setattr(snapshots_module, "_code_fingerprint", lambda: "the matcher's code changed")
    assert store.matcher(knowledge_dir, Thresholds()).knowledge.version == edited.knowledge.version
    assert len(saved(store)) == KEEP  # older snapshots are removed


def test_an_invalid_knowledge_base_raises_as_loading_does_and_saves_nothing(knowledge_dir, store):
    (knowledge_dir / "entries.yaml").write_text("entries:\n  - id: [broken\n")
    with pytest.raises(KnowledgeError):
        store.matcher(knowledge_dir, Thresholds())
    assert saved(store) == []


def test_a_damaged_snapshot_is_rebuilt_and_replaced(knowledge_dir, store, caplog):
    built = store.matcher(knowledge_dir, Thresholds())
    [path] = saved(store)
    path.write_bytes(path.read_bytes()[:1000])  # cut short, as by a full disk
    with caplog.at_level(logging.WARNING):
        rebuilt = store.matcher(knowledge_dir, Thresholds())
    assert "ignoring matcher snapshot" in caplog.text
    assert rebuilt.match(QUESTION) == built.match(QUESTION)
    assert pickle.loads(path.read_bytes()).knowledge == built.knowledge


class Planted:
    """What an attacker with write access to the folder might leave: a pickle that runs code when loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.mkdir, (str(self.marker),))


def test_a_planted_pickle_is_refused_without_running_it(knowledge_dir, store, tmp_path, caplog):
    store.matcher(knowledge_dir, Thresholds())
    [path] = saved(store)
    marker = tmp_path / "the planted code ran"
    path.write_bytes(pickle.dumps(Planted(marker)))
    with caplog.at_level(logging.WARNING):
        matcher = store.matcher(knowledge_dir, Thresholds())
    assert not marker.exists()
    assert "does not contain posix.mkdir" in caplog.text
    assert matcher.match(QUESTION).best.entry.id == "mutual-defence"


def test_an_unwritable_folder_is_reported_and_answers_go_on(knowledge_dir, tmp_path, caplog):
    blocked = tmp_path / "a file where the folder should be"
    blocked.write_text("")
    with caplog.at_level(logging.WARNING):
        matcher = Snapshots(blocked).matcher(knowledge_dir, Thresholds())
    assert "could not save a matcher snapshot" in caplog.text
    assert matcher.match(QUESTION).best.entry.id == "mutual-defence"


def test_the_service_adds_learned_phrasings_on_top_of_a_snapshot(knowledge_dir, store, monkeypatch):
    question = "what keeps the members together in a crisis"
    AnswerService(knowledge_dir, snapshots=store)
    no_parsing(monkeypatch)
    service = AnswerService(knowledge_dir, snapshots=store, learned={"mutual-defence": [question]})
    assert service.answer(question, source=QuerySource.CLI).entry.id == "mutual-defence"
    assert service.reload().version == service.knowledge.version  # reloading unchanged files: the snapshot again
    assert service.answer(question, source=QuerySource.CLI).entry.id == "mutual-defence"
