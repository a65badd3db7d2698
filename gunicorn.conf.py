"""Gunicorn settings shared by the run command and the container image.

The web role's settings are checked here, in gunicorn's master before any worker starts: a problem is one line
each on stderr and exit code 2, not a traceback per worker.
"""

from app.config import settings_or_exit

_settings = settings_or_exit("web")

bind = _settings.bind
workers = _settings.web_concurrency
threads = _settings.web_threads
timeout = 30
accesslog = "-"
# %(U)s is the path without the query string: Dataverse's WebhookKey puts the secret in ?code=.
access_log_format = (
    '{"remote": "%(h)s", "method": "%(m)s", "path": "%(U)s", "status": %(s)s, "bytes": "%(B)s", "ms": %(M)s}'
)
