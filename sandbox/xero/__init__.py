"""A faithful local stand-in for Xero's Accounting API, identity server and webhooks (see README.md)."""

from sandbox.xero.server import RunningSandbox, create_app, start_in_thread
from sandbox.xero.settings import Limits, Settings

__all__ = ["Limits", "RunningSandbox", "Settings", "create_app", "start_in_thread"]
