from redis.exceptions import ConnectionError as RedisConnectionError

from app.worker import build_worker, wait_for_redis


class FlakyRedis:
    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.pings = 0

    def ping(self) -> bool:
        self.pings += 1
        if self.pings <= self.failures:
            raise RedisConnectionError("refused")
        return True


def test_a_worker_waits_for_redis_instead_of_crashing(caplog):
    flaky = FlakyRedis(failures=2)
    wait_for_redis(flaky, interval=0)  # type: ignore[arg-type]
    assert flaky.pings == 3
    assert caplog.text.count("Redis unreachable, retrying") == 2


def test_the_worker_serves_the_named_queues_in_order(redis_url):
    worker = build_worker(["xero", "dataverse"], redis_url)
    assert [queue.name for queue in worker.queues] == ["xero", "dataverse"]
