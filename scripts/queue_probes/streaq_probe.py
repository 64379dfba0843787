"""The mail job and worker with streaq as the service would write them: for mypy --strict."""

import json

from streaq import StreaqRetry, Worker

worker = Worker(
    redis_url="redis://127.0.0.1:6379/9", concurrency=10, grace_period=25,
    serializer=json.dumps, deserializer=json.loads,  # not pickle: a Redis writer runs no code
)  # fmt: skip
NUMBER: int = 1


@worker.task(max_tries=40, timeout=60)
async def send_mail(outbox_id: int) -> None:
    if outbox_id < 0:
        raise StreaqRetry("SMTP down", delay=30 + send_mail.context.tries)


@worker.cron("17 3 * * *")
def prune() -> None:  # a sync task runs in a worker thread (anyio)
    return None


async def enqueue() -> None:
    async with worker:
        await send_mail.enqueue(NUMBER)
