"""A stored output answered as a file server answers a file: with validators (``ETag``,
``Last-Modified``), conditional requests (304) and byte ranges (206), as Starlette's
FileResponse does for a file on disk, but for bytes from darkroom's store.

The ETag is the SHA-256 of the bytes, so it is the same on every API node and every
store (a local folder, S3), survives restarts and copies of the store, and changes only
when the bytes do; Starlette derives its own from the file's mtime and size, which a
blob store does not keep. Last-Modified is when the job stored the output.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from email.utils import formatdate, parsedate_to_datetime

from fastapi import Request, Response


class RangeNotSatisfiable(Exception):
    """A byte range that starts past the end of the file (answered 416)."""


def stored_file_response(
    request: Request,
    data: bytes,
    *,
    media_type: str,
    modified_at: float,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """``data`` as 200, 206 (one satisfiable ``Range``), 416 (a range past its end) or 304
    (``If-None-Match`` or ``If-Modified-Since`` says the client has it). A ``Range`` that
    does not parse, names several ranges, or is not for the current bytes (``If-Range``)
    is answered with the whole file, as HTTP allows."""
    etag = '"' + hashlib.sha256(data).hexdigest() + '"'
    last_modified = formatdate(int(modified_at), usegmt=True)
    validators = {"ETag": etag, "Last-Modified": last_modified, "Accept-Ranges": "bytes"}
    if not_modified(request, etag, int(modified_at)):
        return Response(status_code=304, headers=validators)
    full = {**(headers or {}), **validators}
    wanted = request.headers.get("range")
    if_range = request.headers.get("if-range")
    if wanted is not None and (if_range is None or if_range in (etag, last_modified)):
        try:
            span = byte_range(wanted, len(data))
        except RangeNotSatisfiable:
            return Response(
                status_code=416, headers={**full, "Content-Range": f"bytes */{len(data)}"}
            )
        if span is not None:
            first, last = span
            return Response(
                data[first : last + 1],
                status_code=206,
                media_type=media_type,
                headers={**full, "Content-Range": f"bytes {first}-{last}/{len(data)}"},
            )
    return Response(data, media_type=media_type, headers=full)


def not_modified(request: Request, etag: str, modified_at: int) -> bool:
    """RFC 9110 13.1.2, 13.1.3: If-None-Match decides when present (weak comparison);
    otherwise If-Modified-Since, to the second."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
        return "*" in tags or etag in tags
    if_modified_since = request.headers.get("if-modified-since")
    if if_modified_since is None:
        return False
    try:
        since = parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError):
        return False
    return since.tzinfo is not None and modified_at <= since.timestamp()


def byte_range(header: str, size: int) -> tuple[int, int] | None:
    """The one range ``bytes=first-last``, ``bytes=first-`` or ``bytes=-suffix`` asks
    for, as inclusive (first, last) within ``size``; None when the header is not one such
    range (answered with the whole file). RangeNotSatisfiable when it starts past the end
    or asks for the last 0 bytes."""
    unit, _, spec = header.partition("=")
    first_text, dash, last_text = spec.strip().partition("-")
    first_text, last_text = first_text.strip(), last_text.strip()
    if (
        unit.strip().lower() != "bytes"
        or not dash
        or not all(t.isdigit() for t in (first_text, last_text) if t)
        or not (first_text or last_text)
    ):
        return None  # not one range of bytes: a list, another unit, or malformed
    if not first_text:  # the last N bytes
        if int(last_text) == 0:
            raise RangeNotSatisfiable
        return max(0, size - int(last_text)), size - 1
    first = int(first_text)
    if last_text and int(last_text) < first:
        return None  # not a valid range
    if first >= size:
        raise RangeNotSatisfiable
    last = min(int(last_text), size - 1) if last_text else size - 1
    return first, last
