"""The mail job and worker with saq as the service would write them: for mypy --strict."""

from saq import CronJob, Queue, Worker
from saq.types import Context

queue = Queue.from_url("redis://127.0.0.1:6379/9", name="jobs")
NUMBER: int = 1


async def send_mail(ctx: Context, *, outbox_id: int) -> None:
    assert outbox_id > 0


def prune(ctx: Context) -> None:  # a sync job runs in the worker's thread pool
    return None


async def enqueue() -> None:
    await queue.enqueue(
        "send_mail", outbox_id=NUMBER, key=f"outbox-{NUMBER}",
        retries=40, retry_delay=30.0, retry_backoff=3600.0, timeout=60,
    )  # fmt: skip


def worker() -> Worker[Context]:
    return Worker(
        queue, functions=[send_mail], concurrency=10, shutdown_grace_period_s=25,
        cron_jobs=[CronJob(prune, cron="17 3 * * *")], timers={"sweep": 10},
    )  # fmt: skip
