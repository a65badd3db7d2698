"""Xero's error shapes: the accounting ValidationException, the identity problem documents, OAuth2 errors."""

from __future__ import annotations

import uuid
from typing import Any


class ValidationFailure(Exception):
    """One document broke one or more of Xero's rules; `messages` are Xero's ValidationErrors texts."""

    def __init__(self, *messages: str) -> None:
        super().__init__("; ".join(messages))
        self.messages = list(messages)


class NotFound(Exception):
    pass


def validation_error_body(elements: list[dict[str, Any]], message: str | None = None) -> dict[str, Any]:
    return {
        "ErrorNumber": 10,
        "Type": "ValidationException",
        "Message": message or "A validation exception occurred",
        "Elements": elements,
    }


def element_with_errors(element: dict[str, Any], messages: list[str]) -> dict[str, Any]:
    return {**element, "ValidationErrors": [{"Message": m} for m in messages]}


def problem(status: int, title: str, detail: str) -> dict[str, Any]:
    """The RFC 7807-style body Xero's gateway answers 401/403/404 with."""
    return {
        "Type": None,
        "Title": title,
        "Status": status,
        "Detail": detail,
        "Instance": str(uuid.uuid4()),
        "Extensions": {},
    }


def oauth_error(error: str, description: str | None = None) -> dict[str, str]:
    body = {"error": error}
    if description:
        body["error_description"] = description
    return body
