"""Graceful shutdown: readiness turns 503 first, then the server stops."""

import asyncio
import logging
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from starlette.datastructures import State

logger = logging.getLogger(__name__)


@contextmanager
def drain_before_exit(state: State, seconds: float) -> Iterator[None]:
    """On SIGTERM, set `state.draining` (readiness answers 503) and hand the signal to the
    server only `seconds` later. Load balancers see the instance go unready and stop sending it
    requests while it still serves them; then the server closes its socket and finishes the
    requests in flight (uvicorn bounds that with --timeout-graceful-shutdown).

    Does nothing with 0 seconds, or when no server has installed a SIGTERM handler (tests).
    """
    server_handler = signal.getsignal(signal.SIGTERM)
    if seconds <= 0 or not callable(server_handler):
        yield
        return
    loop = asyncio.get_running_loop()

    def drain(signum: int, frame: FrameType | None) -> None:
        if state.draining:  # a second SIGTERM: stop now
            server_handler(signum, frame)
            return
        state.draining = True
        logger.info("SIGTERM received: draining", extra={"seconds": seconds})
        loop.call_soon_threadsafe(loop.call_later, seconds, server_handler, signum, frame)

    signal.signal(signal.SIGTERM, drain)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, server_handler)
