"""The mail job and worker with taskiq as the service would write them: for mypy --strict."""

from taskiq import SmartRetryMiddleware
from taskiq.api import run_receiver_task
from taskiq_redis import RedisStreamBroker

broker = RedisStreamBroker("redis://127.0.0.1:6379/9", idle_timeout=60_000).with_middlewares(
    SmartRetryMiddleware(default_retry_count=40, use_jitter=True, use_delay_exponent=True)
)
NUMBER: int = 1


@broker.task
async def send_mail(outbox_id: int) -> None:
    assert outbox_id > 0


@broker.task(schedule=[{"cron": "17 3 * * *"}])
def prune() -> None:  # a sync task runs in the receiver's thread pool
    return None


async def enqueue() -> None:
    await send_mail.kiq(NUMBER)


async def work() -> None:
    await run_receiver_task(broker, max_async_tasks=10)
