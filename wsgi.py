"""Gunicorn entry point: `gunicorn wsgi:app` (settings from the environment, checked like every role's)."""

from app import create_app
from app.config import settings_or_exit

app = create_app(settings_or_exit("web"))
