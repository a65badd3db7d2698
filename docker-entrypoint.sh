#!/bin/sh
# Selects the role of the container: web (default), worker, or any other command as given.
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
  *)
    exec "$@"
    ;;
esac
