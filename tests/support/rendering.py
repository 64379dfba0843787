"""Render a combination with copier, answers given on a command line, and list a project's files."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
# Directories that belong to tools, not to a project (never listed, never compared).
TOOL_DIRS = {".git", ".venv", ".mypy_cache", ".ruff_cache", ".pytest_cache", "__pycache__"}


def copy_args(
    data: dict[str, Any], dest: Path, vcs_ref: str | None = "HEAD", template: Path = ROOT
) -> list[str]:
    """Arguments of `copier` for a render of `data` (answers) into `dest`; vcs_ref None renders
    the working tree."""
    args = ["copy", "--trust", "--defaults", "--quiet"]
    args += [f"--vcs-ref={vcs_ref}"] if vcs_ref else []
    return [*args, *data_args(data), str(template), str(dest)]


def data_args(data: dict[str, Any]) -> list[str]:
    """`--data key=value` for each answer, booleans as YAML reads them."""
    args = []
    for key, value in data.items():
        args += ["--data", f"{key}={str(value).lower() if isinstance(value, bool) else value}"]
    return args


def parse_answers(pairs: Sequence[str]) -> dict[str, str]:
    """Answers given as key=value on a command line (what copier's `--data` takes)."""
    if bad := [pair for pair in pairs if not pair.partition("=")[0] or "=" not in pair]:
        raise RuntimeError(f"answers are key=value pairs, got {bad[0]!r}")
    return dict(pair.split("=", 1) for pair in pairs)


def combination_id(answers: dict[str, str]) -> str:
    """`<database>-<async|sync>-<memory|redis|nolimit>` of answers given as strings, defaults
    filled in: the ids of tests/matrix.py's core combinations."""
    flavour = "async" if _truthy(answers.get("use_async", "true")) else "sync"
    limits = answers.get("rate_limit_storage", "memory")
    if not _truthy(answers.get("rate_limiting", "true")):
        limits = "nolimit"
    return f"{answers.get('database', 'sqlite')}-{flavour}-{limits}"


def _truthy(value: str) -> bool:
    return value.strip().lower() not in ("false", "no", "0", "off", "n")


def render(
    data: dict[str, Any], dest: Path, vcs_ref: str | None = "HEAD", template: Path = ROOT
) -> None:
    """Render into `dest` (emptied first) with this interpreter's copier."""
    shutil.rmtree(dest, ignore_errors=True)
    dest.parent.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "copier", *copy_args(data, dest, vcs_ref, template)]
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if proc.returncode:
        raise RuntimeError(f"`{' '.join(argv)}` exited {proc.returncode}:\n{proc.stderr}")


class Renders:
    """Render each distinct set of answers once per session (pytest-copie's session helper)."""

    def __init__(self, copie_session: Any) -> None:
        self._copie = copie_session
        self._cache: dict[tuple[tuple[str, Any], ...], Path] = {}

    def __call__(self, **answers: Any) -> Path:
        key = tuple(sorted(answers.items()))
        if key not in self._cache:
            result = self._copie.copy(extra_answers=answers)
            assert result.exit_code == 0, result.exception
            self._cache[key] = result.project_dir
        return self._cache[key]


def files_of(project: Path) -> set[str]:
    return set(project_files(project))


def project_files(root: Path) -> dict[str, Path]:
    """Every file of a project by relative POSIX path, tool directories left out."""
    files = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in TOOL_DIRS]
        for name in filenames:
            path = Path(dirpath, name)
            files[path.relative_to(root).as_posix()] = path
    return files
