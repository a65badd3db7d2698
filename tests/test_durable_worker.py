"""No job is stranded when a worker process dies: real `python -m app.worker` processes, killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from rq import Retry, Worker
from rq.job import JobStatus
from rq.scheduler import RQScheduler

from app.queue import QUEUE_DATAVERSE, fetch_job, job_queue
from tests.helpers import kill_worker, settings_env

ROOT = Path(__file__).resolve().parent.parent
RECOVERY_SECONDS = 1  # the workers' maintenance period in these tests (production default: 5)


def wait_for(predicate: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout} s: {what}")


@pytest.fixture
def start_worker(redis_url, redis_conn, tmp_path) -> Iterator[Callable[[str], subprocess.Popen]]:
    env = {**os.environ, **settings_env(redis_url), "WORKER_RECOVERY_SECONDS": str(RECOVERY_SECONDS)}
    started: list[subprocess.Popen] = []

    def start(name: str) -> subprocess.Popen:
        log = (tmp_path / f"{name}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "app.worker", "--name", name],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        started.append(process)
        wait_for(lambda: any(w.name == name for w in Worker.all(connection=redis_conn)), 30, f"worker {name} up")
        return process

    yield start
    for process in started:
        if process.poll() is None:
            kill_worker(process)


def test_a_job_taken_by_a_worker_killed_before_starting_it_runs_and_so_does_the_scheduled_work(
    start_worker, redis_conn
):
    queue = job_queue(QUEUE_DATAVERSE, redis_conn)
    first = start_worker("first")
    lock = RQScheduler.get_locking_key(QUEUE_DATAVERSE)
    wait_for(lambda: redis_conn.get(lock), 10, "the first worker runs the scheduler")

    # Freeze the idle worker inside its blocking take, give it a job, and kill it before it can start it.
    for _ in range(10):
        os.kill(first.pid, signal.SIGSTOP)
        job = queue.enqueue("tests.worker_jobs.note", "taken")
        time.sleep(0.5)
        if redis_conn.lrange(queue.intermediate_queue_key, 0, -1) == [job.id.encode()]:
            break
        queue.remove(job.id)  # frozen outside the take: try again
        os.kill(first.pid, signal.SIGCONT)
        time.sleep(0.2)
    else:
        pytest.fail("the worker never took the job while frozen")
    assert fetch_job(job.id, redis_conn).get_status() == JobStatus.QUEUED and job.id not in queue.job_ids
    later = queue.enqueue_in(timedelta(seconds=2), "tests.worker_jobs.note", "scheduled")
    kill_worker(first)

    start_worker("second")
    ran = wait_for(lambda: len(redis_conn.lrange("test:ran", 0, -1)) == 2, 15, "both jobs ran")
    assert ran
    assert sorted(redis_conn.lrange("test:ran", 0, -1)) == [b"scheduled", b"taken"]
    wait_for(lambda: fetch_job(later.id, redis_conn).get_status() == JobStatus.FINISHED, 10, "it finished")
    assert redis_conn.llen(queue.intermediate_queue_key) == 0


def test_a_job_whose_worker_is_killed_while_running_it_runs_again(start_worker, redis_conn):
    queue = job_queue(QUEUE_DATAVERSE, redis_conn)
    first = start_worker("first")
    job = queue.enqueue("tests.worker_jobs.long_on_first_attempt", "long", retry=Retry(max=2))
    wait_for(lambda: redis_conn.lrange("test:started", 0, -1), 15, "the first attempt started")
    kill_worker(first)

    start_worker("second")
    wait_for(lambda: redis_conn.lrange("test:ran", 0, -1) == [b"long"], 20, "the second attempt ran")
    wait_for(lambda: fetch_job(job.id, redis_conn).get_status() == JobStatus.FINISHED, 10, "the job finished")
