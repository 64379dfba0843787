"""The mail job and worker with arq as the service would write them: for mypy --strict."""

from typing import Any

from arq import ArqRedis, Retry, cron
from arq.connections import RedisSettings
from arq.worker import Worker, func

settings = RedisSettings.from_dsn("redis://127.0.0.1:6379/9")
NUMBER: int = 1


async def send_mail(ctx: dict[str, Any], outbox_id: int) -> None:
    if outbox_id < 0:
        raise Retry(defer=ctx["job_try"] * 30)


async def prune(ctx: dict[str, Any]) -> None:  # arq runs coroutines only
    return None


async def enqueue(pool: ArqRedis) -> None:
    await pool.enqueue_job("send_mail", NUMBER, _job_id=f"outbox-{NUMBER}")


def worker() -> Worker:
    return Worker(
        functions=[func(send_mail, max_tries=40)], redis_settings=settings, max_jobs=10,
        cron_jobs=[cron(prune, hour={3}, minute={17})], job_completion_wait=25,
    )  # fmt: skip
