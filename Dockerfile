# One image for every role: `web` (gunicorn serving wsgi:app, the default), `worker` (RQ worker) or
# `scheduler` (queues the periodic work).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /srv/connector

# Dependencies first, so code changes do not reinstall them.
COPY pyproject.toml README.md ./
COPY app ./app
COPY handlers ./handlers
COPY mappers ./mappers
COPY plugins_registration ./plugins_registration
COPY sandbox ./sandbox
COPY wsgi.py gunicorn.conf.py docker-entrypoint.sh ./
RUN pip install . \
    && useradd --system --uid 10001 --home-dir /srv/connector connector \
    && chmod 0755 docker-entrypoint.sh

USER connector
EXPOSE 8000

# Liveness only: /readyz is for load balancers, it turns 503 while Redis is away.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"]

ENTRYPOINT ["./docker-entrypoint.sh"]
CMD ["web"]
