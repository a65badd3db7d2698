"""Pytest fixtures for the sandbox (filled in with the sandbox itself)."""
