#!/usr/bin/env python3
"""One-step set-up and launch: ``python3 dev.py run`` or ``python3 dev.py test``.

Needs nothing but Python 3.11+. Creates ``.venv`` beside this file and installs
into it exactly the versions in ``requirements.lock`` (checked against their
hashes), then allybot itself, editable; again only when the lock or
``pyproject.toml`` changes. Then runs the bot, the tests or the linters inside it.
Extra arguments are passed through: ``python3 dev.py test -k matcher``,
``python3 dev.py run console``.

``python3 dev.py lock`` regenerates ``requirements.lock`` from ``pyproject.toml``
(after adding or changing a dependency). The lock records which dependency lists
it was made from, so a dependency added without re-locking stops here with
that advice instead of failing later on a missing import.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".allybot-installed"
PYPROJECT = ROOT / "pyproject.toml"
LOCK = ROOT / "requirements.lock"
LOCKED_FROM = "# locked from pyproject.toml dependencies sha256: "
COMMANDS = {
    "run": [["-m", "bot"]],
    "test": [["-m", "pytest"]],
    "lint": [["-m", "ruff", "check", "."], ["-m", "mypy"]],
}


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def pip(*args: str) -> None:
    subprocess.run([str(venv_python()), "-m", "pip", *args, "--quiet", "--disable-pip-version-check"], check=True)


def dependencies_digest() -> str:
    """A digest of what pyproject.toml asks for (dependencies and extras), not of the rest of the file."""
    import tomllib

    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    wanted = [project.get("dependencies", []), project.get("optional-dependencies", {})]
    return hashlib.sha256(json.dumps(wanted, sort_keys=True).encode()).hexdigest()


def create_venv() -> None:
    if not venv_python().exists():
        print("dev.py: creating .venv", file=sys.stderr)
        venv.create(VENV, with_pip=True)


def ensure_installed() -> None:
    if LOCKED_FROM + dependencies_digest() not in LOCK.read_text(encoding="utf-8"):
        raise SystemExit(
            "dev.py: requirements.lock does not match pyproject.toml's dependencies: run python3 dev.py lock"
        )
    wanted = hashlib.sha256(PYPROJECT.read_bytes() + LOCK.read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted and venv_python().exists():
        return
    create_venv()
    print("dev.py: installing the locked dependencies and allybot into .venv", file=sys.stderr)
    pip("install", "--require-hashes", "--no-deps", "-r", str(LOCK))
    pip("install", "--no-deps", "--no-build-isolation", "-e", str(ROOT))
    STAMP.write_text(wanted)


def lock() -> int:
    """requirements.lock: every dependency of allybot and its dev extra, exact versions with hashes."""
    create_venv()
    pip("install", "pip-tools>=7.4")
    compiled = [str(venv_python()), "-m", "piptools", "compile", "--quiet", "--extra", "dev", "--generate-hashes"]
    compiled += ["--allow-unsafe", "--strip-extras", "--no-emit-index-url", "--no-emit-find-links"]
    compiled += ["--output-file", str(LOCK), str(PYPROJECT)]
    subprocess.run(compiled, check=True, cwd=ROOT, env={**os.environ, "CUSTOM_COMPILE_COMMAND": "python3 dev.py lock"})
    LOCK.write_text(LOCKED_FROM + dependencies_digest() + "\n" + LOCK.read_text(encoding="utf-8"), encoding="utf-8")
    print(f"dev.py: wrote {LOCK.name}", file=sys.stderr)
    return 0


def main(argv: list[str]) -> int:
    if sys.version_info < (3, 11):
        print(f"dev.py: allybot needs Python 3.11+, this is {sys.version.split()[0]}", file=sys.stderr)
        return 2
    if argv[:1] == ["lock"]:
        return lock()
    if not argv or argv[0] not in COMMANDS:
        print(f"usage: python3 dev.py {{{'|'.join([*COMMANDS, 'lock'])}}} [args...]", file=sys.stderr)
        return 2
    try:
        ensure_installed()
    except subprocess.CalledProcessError as error:
        print(f"dev.py: installation failed ({error})", file=sys.stderr)
        return 1
    for command in COMMANDS[argv[0]]:
        code = subprocess.run([str(venv_python()), *command, *argv[1:]], cwd=ROOT).returncode
        if code:
            return code
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
