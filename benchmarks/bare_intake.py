"""The floor for the intake benchmark: a bare Flask view that does one Redis push and answers 202.

Served by the same gunicorn, with the same settings, as the connector's intake (`benchmarks.intake_http`).
"""

from __future__ import annotations

import os

from flask import Flask, jsonify, request
from redis import Redis

app = Flask(__name__)
_redis = Redis.from_url(os.environ["REDIS_URL"])


@app.post("/webhooks/dataverse")
def push():  # type: ignore[no-untyped-def]
    _redis.rpush("bench:floor", request.get_data())
    return jsonify({"status": "queued"}), 202
