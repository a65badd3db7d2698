"""Reading a webhook body with a hard size bound, chunked or not."""

from __future__ import annotations

from flask import request


def read_bounded_body(limit: int) -> bytes | None:
    """The request body, or None when it is larger than `limit`; never reads more than limit + 1 bytes.

    Checked by hand because a chunked body has no Content-Length, and not every server enforces Flask's
    MAX_CONTENT_LENGTH on such a stream.
    """
    if request.content_length is not None and request.content_length > limit:
        return None
    parts: list[bytes] = []
    size = 0
    while size <= limit:  # a stream read may return less than asked (one chunk at a time)
        part = request.stream.read(limit + 1 - size)
        if not part:
            break
        parts.append(part)
        size += len(part)
    return None if size > limit else b"".join(parts)
