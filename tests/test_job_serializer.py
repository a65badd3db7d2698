"""Jobs are JSON; jobs pickled before the upgrade are converted (plain data) or removed (anything else)."""

from __future__ import annotations

import os
import pickle
import zlib
from datetime import UTC, datetime
from decimal import Decimal

from rq import Queue

from app.events import EntityRef
from app.job_serializer import JobSerializer, convert_pickled_jobs
from app.queue import QUEUE_DATAVERSE, JobQueue, fetch_job
from tests.helpers import settings_for

PRE_IMAGE = {
    "totalamount": Decimal("1234.10"),
    "customerid": EntityRef("account", "0b6c1c0e-8b3e-ef11-8409-000d3a4b7a1c", "Acme"),
    "modifiedon": datetime(2026, 11, 30, 9, 15, tzinfo=UTC),
    "name": "INV-1",
    "lines": [1, 2],
}


def test_values_events_carry_survive_the_round_trip():
    raw = JobSerializer.dumps(("invoice.delete", {"pre_image": PRE_IMAGE}))
    assert b"pickle" not in raw and raw.startswith(b"[")
    kind, payload = JobSerializer.loads(raw)
    assert kind == "invoice.delete" and payload["pre_image"] == PRE_IMAGE


def test_a_queued_job_is_stored_as_json(redis_url, redis_conn):
    jobs = JobQueue(redis_conn, settings_for(redis_url))
    queued = jobs.submit(QUEUE_DATAVERSE, "invoice.delete", {"pre_image": PRE_IMAGE})
    stored = zlib.decompress(redis_conn.hget(f"rq:job:{queued.job_id}", "data"))
    assert stored.startswith(b'["app.dispatch.run"')
    assert fetch_job(queued.job_id, redis_conn).args == ["invoice.delete", {"pre_image": PRE_IMAGE}]


def test_a_job_pickled_before_the_upgrade_is_converted_and_runs_from_json(redis_url, redis_conn):
    legacy = Queue(QUEUE_DATAVERSE, connection=redis_conn)  # RQ's default serializer: pickle
    job = legacy.enqueue("app.dispatch.run", "invoice.delete", {"pre_image": PRE_IMAGE}, meta={"kind": "x"})
    assert zlib.decompress(redis_conn.hget(job.key, "data"))[:1] == b"\x80"

    report = convert_pickled_jobs(redis_conn)

    assert report.converted == [job.id] and report.removed == []
    converted = fetch_job(job.id, redis_conn)
    assert converted.args == ["invoice.delete", {"pre_image": PRE_IMAGE}]
    assert converted.meta == {"kind": "x"}
    assert job.id in legacy.job_ids, "still queued, now readable by the JSON workers"
    assert convert_pickled_jobs(redis_conn).converted == [], "a second pass finds nothing to do"


class _Exploit:
    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (os.mkdir, (self.path,))


def test_a_pickled_job_that_is_not_plain_data_is_never_unpickled_and_is_removed(redis_url, redis_conn, tmp_path):
    legacy = Queue(QUEUE_DATAVERSE, connection=redis_conn)
    job = legacy.enqueue("app.dispatch.run", "invoice.sync", {"x": 1})
    marker = tmp_path / "ran"
    evil = pickle.dumps(("app.dispatch.run", None, (_Exploit(str(marker)),), {}), protocol=4)
    redis_conn.hset(job.key, "data", zlib.compress(evil))

    report = convert_pickled_jobs(redis_conn)

    assert report.removed == [job.id]
    assert not marker.exists(), "the pickle's code did not run"
    assert job.id not in legacy.job_ids and not redis_conn.exists(job.key)
