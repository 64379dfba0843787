"""Helpers shared by noxfile.py, scripts/ and the template's tests.

The repository installs itself in editable mode (pyproject.toml's build-system; `uv sync` does
it), so ``tests`` and ``scripts`` are importable packages wherever this repo's virtualenv runs:
``from tests.support import free_port`` in the noxfile, ``python -m scripts.bench`` from any
directory, pytest collecting ``tests.test_*``. One place edits ``sys.path``: noxfile.py puts
the repository first when the nox running it has not installed it (``uvx nox``, pipx), and its
sessions then run scripts with their own virtualenv's Python, which has.
"""

from tests.support.databases import (
    REDIS_BASE_URL,
    SERVERS,
    flush_redis,
    mysql_client,
    redis_url,
    throwaway_database,
)
from tests.support.processes import (
    HOST,
    NotUp,
    clean_env,
    connect,
    free_port,
    kill_tree,
    request_json,
    request_on,
    run,
    running,
    start,
    stop,
    url,
    uvicorn,
    wait_until_up,
)
from tests.support.rendering import (
    ROOT,
    Renders,
    combination_id,
    copy_args,
    data_args,
    files_of,
    parse_answers,
    project_files,
    render,
)

__all__ = [
    "HOST",
    "REDIS_BASE_URL",
    "ROOT",
    "SERVERS",
    "NotUp",
    "Renders",
    "clean_env",
    "combination_id",
    "connect",
    "copy_args",
    "data_args",
    "files_of",
    "flush_redis",
    "free_port",
    "kill_tree",
    "mysql_client",
    "parse_answers",
    "project_files",
    "redis_url",
    "render",
    "request_json",
    "request_on",
    "run",
    "running",
    "start",
    "stop",
    "throwaway_database",
    "url",
    "uvicorn",
    "wait_until_up",
]
