"""Shared-secret checks for webhook senders that do not sign (Dataverse): constant time, any of several keys."""

from __future__ import annotations

import hmac
from collections.abc import Iterable


def matches_any(candidate: str | None, secrets: Iterable[str]) -> bool:
    """True when `candidate` equals one of `secrets`; every secret is compared, in constant time."""
    if not candidate:
        return False
    given = candidate.encode()
    matched = False
    for secret in secrets:
        matched |= hmac.compare_digest(given, secret.encode())
    return matched
