"""Gunicorn settings shared by the run command and the container image.

The web role's settings are checked here, in gunicorn's master before any worker starts: a problem is one line
each on stderr and exit code 2, not a traceback per worker.
"""

from app import metrics
from app.config import settings_or_exit

_settings = settings_or_exit("web")

bind = _settings.bind
workers = _settings.web_concurrency
threads = _settings.web_threads
timeout = 30
# gunicorn's control socket (gunicornc) is not used; without this it is created in $HOME, which the image's user
# cannot write (an ERROR line at every start) and which every gunicorn of a machine would share.
control_socket_disable = True
accesslog = "-"
logger_class = "app.access_log.JsonLogger"  # %(t)s is an ISO 8601 UTC time; gunicorn's own lines are JSON too
# %(U)s is the path without the query string: Dataverse's WebhookKey puts the secret in ?code=.
access_log_format = (
    '{"time": "%(t)s", "logger": "access", "remote": "%(h)s", "method": "%(m)s", "path": "%(U)s", '
    '"status": %(s)s, "bytes": "%(B)s", "ms": %(M)s}'
)


def child_exit(server, worker) -> None:
    metrics.process_exited(worker.pid)
