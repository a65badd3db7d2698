#!/bin/sh
# Selects the role of the container: web (default), worker, scheduler, or any other command as given.
set -e

# The processes of this container share their metrics through PROMETHEUS_MULTIPROC_DIR; files of an earlier
# run would be added to this one's counts, so it starts empty.
fresh_metrics_dir() {
  if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then
    rm -rf "${PROMETHEUS_MULTIPROC_DIR:?}"
    mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
  fi
}

fresh_metrics_dir
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
