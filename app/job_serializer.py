"""Jobs are stored as JSON, never as pickles: whoever can write to Redis must not be able to run code in a worker.

RQ stores a job's arguments, meta and result through a serializer. `JobSerializer` is JSON with a few tagged
values for the types events carry (Decimal money, UTC datetimes, Dataverse lookups), so nothing is rounded
through binary floating point and a delete's pre-image keeps its types.

`convert_pickled_jobs` upgrades jobs written before this change (RQ's default, pickle): it reads them with an
unpickler that refuses every global outside a short list of plain data types, and rewrites them as JSON. A job
that cannot be read that way is removed from its queue and reported: jobs are notifications, so reconciliation
finds its invoice again from the source of truth.
"""

from __future__ import annotations

import io
import json
import logging
import pickle
import zlib
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from redis import Redis
from rq import Queue
from rq.job import Job

from app.events import EntityRef

log = logging.getLogger(__name__)

_DECIMAL = "$decimal"
_DATETIME = "$datetime"
_DATE = "$date"
_ENTITY_REF = "$entity_ref"


def _encode(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {_DECIMAL: str(value)}
    if isinstance(value, datetime):
        return {_DATETIME: value.isoformat()}
    if isinstance(value, date):
        return {_DATE: value.isoformat()}
    if isinstance(value, EntityRef):
        return {_ENTITY_REF: asdict(value)}
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    raise TypeError(f"{type(value).__name__} cannot be stored in a job")


def _decode(document: dict[str, Any]) -> Any:
    if len(document) == 1:
        ((tag, value),) = document.items()
        if tag == _DECIMAL:
            return Decimal(value)
        if tag == _DATETIME:
            return datetime.fromisoformat(value)
        if tag == _DATE:
            return date.fromisoformat(value)
        if tag == _ENTITY_REF:
            return EntityRef(**value)
    return document


class JobSerializer:
    """RQ serializer protocol (dumps/loads) over JSON with tagged Decimal, datetime, date and EntityRef."""

    @staticmethod
    def dumps(value: Any, *args: Any, **kwargs: Any) -> bytes:
        return json.dumps(value, default=_encode, separators=(",", ":")).encode()

    @staticmethod
    def loads(raw: bytes | str, *args: Any, **kwargs: Any) -> Any:
        return json.loads(raw, object_hook=_decode)


# -- upgrade from pickled jobs ------------------------------------------------------------------------------

_PICKLE_ALLOWED = {
    ("builtins", name) for name in ("dict", "list", "tuple", "set", "frozenset", "str", "bytes", "int", "float")
} | {
    ("builtins", "bool"),
    ("decimal", "Decimal"),
    ("datetime", "datetime"),
    ("datetime", "date"),
    ("datetime", "time"),
    ("datetime", "timedelta"),
    ("datetime", "timezone"),
    ("app.events", "EntityRef"),
    ("copyreg", "_reconstructor"),
    ("builtins", "object"),
}
_ALLOWED_TYPES = (dict, list, tuple, set, frozenset, str, bytes, int, float, bool, Decimal, datetime, date, time)


class ForbiddenPickle(pickle.UnpicklingError):
    """The pickle names something other than plain data: it is not read."""


class _DataOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _PICKLE_ALLOWED:
            raise ForbiddenPickle(f"{module}.{name} is not plain data")
        return super().find_class(module, name)


def _is_pickle(raw: bytes) -> bool:
    return raw[:1] == b"\x80"  # protocol 2 and later start with PROTO


def read_pickle_safely(raw: bytes) -> Any:
    value = _DataOnlyUnpickler(io.BytesIO(raw)).load()
    _check_plain(value)
    return value


def _check_plain(value: Any) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _check_plain(key)
            _check_plain(item)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            _check_plain(item)
    elif value is not None and not isinstance(value, (*_ALLOWED_TYPES, EntityRef, timedelta)):
        raise ForbiddenPickle(f"{type(value).__name__} is not plain data")


@dataclass
class UpgradeReport:
    converted: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def _job_data(raw: bytes) -> tuple[bytes, bool]:
    """The job's data field uncompressed, and whether it was compressed."""
    try:
        return zlib.decompress(raw), True
    except zlib.error:
        return raw, False


def convert_pickled_jobs(connection: Redis) -> UpgradeReport:
    """Rewrite every pickled RQ job hash as JSON; remove (and report) the ones that are not plain data.

    Read a page of keys at a time in one pipeline, so a worker's start-up stays quick with many jobs kept."""
    report = UpgradeReport()
    keys: list[bytes] = []
    for key in connection.scan_iter(match="rq:job:*", count=500):
        keys.append(key)
        if len(keys) == 500:
            _convert_page(connection, keys, report)
            keys = []
    if keys:
        _convert_page(connection, keys, report)
    if report.converted or report.removed:
        log.warning(
            "pickled jobs upgraded to JSON",
            extra={"converted": len(report.converted), "removed": len(report.removed)},
        )
    return report


def _convert_page(connection: Redis, keys: list[bytes], report: UpgradeReport) -> None:
    with connection.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.hmget(key, "data", "meta", "result")
        rows = pipe.execute(raise_on_error=False)  # a job's other keys (dependents sets) are not hashes
    for key, row in zip(keys, rows, strict=True):
        if isinstance(row, Exception):
            continue
        _convert_job(connection, key, row, report)


def _convert_job(connection: Redis, key: bytes, fields: list[bytes | None], report: UpgradeReport) -> None:
    data, meta, result = fields
    job_id = key.decode().removeprefix("rq:job:")
    raw_data, compressed = _job_data(data) if data else (b"", False)
    stored = (("data", raw_data), ("meta", meta), ("result", result))
    pickled = [name for name, raw in stored if raw and _is_pickle(raw)]
    if not pickled:
        return
    try:
        updates: dict[str, bytes] = {}
        if "data" in pickled:
            converted = JobSerializer.dumps(read_pickle_safely(raw_data))
            updates["data"] = zlib.compress(converted) if compressed else converted
        if "meta" in pickled and meta:
            updates["meta"] = JobSerializer.dumps(read_pickle_safely(meta))
        if "result" in pickled and result:
            updates["result"] = JobSerializer.dumps(read_pickle_safely(result))
    except (pickle.UnpicklingError, TypeError, ValueError, EOFError, AttributeError, ImportError) as exc:
        _remove_job(connection, job_id)
        report.removed.append(job_id)
        log.error("a pickled job is not plain data: removed unread", extra={"job_id": job_id, "error": str(exc)})
        return
    connection.hset(key, mapping=updates)
    report.converted.append(job_id)


def _remove_job(connection: Redis, job_id: str) -> None:
    with connection.pipeline() as pipe:
        for queue in Queue.all(connection=connection):
            queue.remove(job_id, pipeline=pipe)
            pipe.lrem(queue.intermediate_queue_key, 0, job_id)
            for registry in (queue.scheduled_job_registry, queue.deferred_job_registry, queue.failed_job_registry):
                registry.remove(job_id, pipeline=pipe)
        pipe.delete(Job.key_for(job_id))
        pipe.execute()
