"""The mail job and worker with dramatiq as the service would write them: for mypy --strict."""

import dramatiq
from dramatiq.brokers.redis import RedisBroker

broker = RedisBroker(url="redis://127.0.0.1:6379/9")
dramatiq.set_broker(broker)
NUMBER: int = 1


@dramatiq.actor(max_retries=40, min_backoff=30_000, max_backoff=3_600_000)
def send_mail(outbox_id: int) -> None:  # actors are sync; `async def` needs the AsyncIO middleware
    assert outbox_id > 0


def enqueue() -> None:
    send_mail.send(NUMBER)


def worker() -> dramatiq.Worker:
    return dramatiq.Worker(broker, worker_threads=10)
