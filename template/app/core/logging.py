"""JSON log lines on stdout, each carrying the id of the request that caused it."""

import json
import logging
import sys
import time
from contextvars import ContextVar
from typing import Any

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

# Attributes every LogRecord has; anything else was passed with `extra=` and is logged, except
# uvicorn's `color_message` (the message again, with ANSI colour escapes).
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}
_encode = json.JSONEncoder(default=str).encode


class JsonFormatter(logging.Formatter):
    """One JSON object per line. Every request writes one, so the formatter is kept cheap: the
    timestamp's date-and-time part is computed once per second, the encoder is reused."""

    _second: tuple[int, str] = (-1, "")

    def format(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        cached, prefix = self._second
        if second != cached:
            prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = (second, prefix)
        entry: dict[str, Any] = {
            "ts": f"{prefix}.{int(record.msecs):03d}+00:00",  # ISO 8601, UTC, milliseconds
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id is not None:
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS:
                entry[key] = value
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        return _encode(entry)


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # LogRecord attributes the JSON lines never show are not collected (Logging HOWTO,
    # "Optimization"): the access log writes a record per request.
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    # uvicorn's own loggers go through the JSON handler; its access log is replaced by ours,
    # which never prints query strings (they may carry tokens).
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    # News at INFO to nobody, at every start: alembic's plugin set-up (seven lines before a
    # migration) and the pool's "Pool disposed" / "Pool recreating" when an engine is disposed.
    # Their warnings still pass.
    for name in ("alembic.runtime.plugins", "sqlalchemy.pool"):
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    # Drivers that print SQL parameters (hashes, token digests) at DEBUG stay at INFO.
    for name in ("aiosqlite", "asyncpg", "psycopg"):
        logging.getLogger(name).setLevel(max(logging.INFO, root.level))
