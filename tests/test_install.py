"""The package as ``pip install .`` installs it (not editable): runs from any folder, reads nothing of the checkout
unless told where the knowledge base is."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import BUNDLED_KB, ROOT


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """allybot built and installed (no dependencies: the test environment has them) into a folder of its own.

    Built from a copy of what the package is made of, so the build leaves nothing in the checkout.
    """
    target = tmp_path_factory.mktemp("site")
    build = tmp_path_factory.mktemp("build")
    source = build / "allybot"
    shutil.copytree(ROOT / "bot", source / "bot", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps"]
    subprocess.run(
        [*pip, "--no-build-isolation", "--no-compile", "--target", str(target), str(source)],
        check=True,
        capture_output=True,
        env={**os.environ, "TMPDIR": str(build)},
        timeout=300,
    )
    assert not (target / "tests").exists() and not (target / "tools").exists(), "development tools are not installed"
    return target


def allybot(installed: Path, cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("ALLYBOT_", "DISCORD_"))}
    script = (
        "import sys, bot; from bot.frontends.cli import main; print(bot.__file__, file=sys.stderr); sys.exit(main())"
    )
    return subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(installed)!r}); {script}", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**environment, **env},
        timeout=60,
    )


def test_the_installed_package_answers_from_another_folder(installed: Path, tmp_path: Path):
    done = allybot(installed, tmp_path, "ask", "--json", "what is article 5", ALLYBOT_KNOWLEDGE_DIR=str(BUNDLED_KB))
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[0].startswith(str(installed)), "the installed copy ran, not the checkout"
    answer = json.loads(done.stdout)
    assert answer["answered"] and "Article 5" in answer["entry"]["title"]
    assert (tmp_path / "data" / "allybot.sqlite3").is_file(), "the query log is kept in the working directory"


def test_without_a_knowledge_base_it_says_how_to_name_one(installed: Path, tmp_path: Path):
    done = allybot(installed, tmp_path, "ask", "--json", "what is article 5")
    assert done.returncode == 2 and done.stdout == ""
    [line] = done.stderr.splitlines()[1:]
    assert "knowledge directory not found" in line and "ALLYBOT_KNOWLEDGE_DIR" in line and "--knowledge" in line
