#!/bin/sh
# Selects the role of the container: web (default), worker, scheduler, or any other command as given.
set -e
case "${1:-web}" in
  web)
    shift || true
    exec gunicorn -c gunicorn.conf.py wsgi:app "$@"
    ;;
  worker)
    shift
    exec python -m app.worker "$@"
    ;;
  scheduler)
    shift
    exec python -m app.scheduler "$@"
    ;;
  *)
    exec "$@"
    ;;
esac
