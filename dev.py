#!/usr/bin/env python3
"""One-step set-up and launch: ``python3 dev.py run`` or ``python3 dev.py test``.

Needs nothing but Python 3.11+. Creates ``.venv`` beside this file, installs
allybot with its dev extra into it (again only when ``pyproject.toml``
changes), then runs the bot or the test suite inside it. Extra arguments are
passed through: ``python3 dev.py test -k matcher``, ``python3 dev.py run console``.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".allybot-installed"
COMMANDS = {
    "run": ["-m", "bot"],
    "test": ["-m", "pytest"],
    "lint": ["-m", "ruff", "check", "."],
}


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_installed() -> None:
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted and venv_python().exists():
        return
    if not venv_python().exists():
        print("dev.py: creating .venv", file=sys.stderr)
        venv.create(VENV, with_pip=True)
    print("dev.py: installing allybot and its dev tools into .venv", file=sys.stderr)
    pip = [str(venv_python()), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "-e", f"{ROOT}[dev]"], check=True)
    STAMP.write_text(wanted)


def main(argv: list[str]) -> int:
    if sys.version_info < (3, 11):
        print(f"dev.py: allybot needs Python 3.11+, this is {sys.version.split()[0]}", file=sys.stderr)
        return 2
    if not argv or argv[0] not in COMMANDS:
        print(f"usage: python3 dev.py {{{'|'.join(COMMANDS)}}} [args...]", file=sys.stderr)
        return 2
    try:
        ensure_installed()
    except subprocess.CalledProcessError as error:
        print(f"dev.py: installation failed ({error})", file=sys.stderr)
        return 1
    command = [str(venv_python()), *COMMANDS[argv[0]], *argv[1:]]
    return subprocess.run(command, cwd=ROOT).returncode


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
