"""HTTP caching of representations that never change (RFC 9110 §8.8, §13, §14; RFC 9111):
entity tags and their comparison, conditional requests, and single byte ranges."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime

# Outputs and their variants never change once made: a year, and no revalidation.
IMMUTABLE = "public, max-age=31536000, immutable"
# Answers to a request with an API key: kept by the browser alone, never by a shared cache
PRIVATE_IMMUTABLE = "private, max-age=31536000, immutable"

_ENTITY_TAG = re.compile(r'\s*(W/)?"([\x21\x23-\x7e\x80-\xff]*)"\s*(?:,|$)')
_BYTE_RANGE = re.compile(r"(\d*)-(\d*)")


def strong_etag(*identity: object) -> str:
    """A strong entity tag for the representation ``identity`` names: the same bytes
    whenever it is made, so a tag of what it is, not of its bytes, which need not be read."""
    digest = hashlib.sha256("/".join(map(str, identity)).encode()).hexdigest()[:32]
    return f'"{digest}"'


def http_date(timestamp: float) -> str:
    return formatdate(timestamp, usegmt=True)


def _opaque_tags(header: str) -> list[tuple[bool, str]] | None:
    """The (weak, opaque-tag) pairs of a list of entity tags; None when it is not one."""
    tags: list[tuple[bool, str]] = []
    position = 0
    text = header.strip()
    while position < len(text):
        match = _ENTITY_TAG.match(text, position)
        if match is None:
            return None
        tags.append((match.group(1) is not None, match.group(2)))
        position = match.end()
    return tags


def none_match(header: str, etag: str) -> bool:
    """Whether an ``If-None-Match`` header matches ``etag``: ``*``, or a listed tag equal
    to it by the weak comparison (``W/"x"`` matches ``"x"``)."""
    if header.strip() == "*":
        return True
    tags = _opaque_tags(header) or []
    opaque = etag.removeprefix("W/")
    return any(f'"{tag}"' == opaque for _weak, tag in tags)


def strong_match(header: str, etag: str) -> bool:
    """Whether ``header`` is exactly one strong entity tag equal to ``etag``."""
    tags = _opaque_tags(header)
    return tags is not None and len(tags) == 1 and not tags[0][0] and f'"{tags[0][1]}"' == etag


def _seconds(header: str) -> float | None:
    try:
        return parsedate_to_datetime(header).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def not_modified(headers: Mapping[str, str], etag: str, last_modified: float) -> bool:
    """Whether a GET or HEAD with these (lower-cased) request headers is answered 304:
    ``If-None-Match`` matches, or, only where it is absent, ``If-Modified-Since`` is no
    earlier than ``last_modified`` (in whole seconds, as Last-Modified says it)."""
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        return none_match(if_none_match, etag)
    since = _seconds(headers.get("if-modified-since", ""))
    return since is not None and int(last_modified) <= since


@dataclass(frozen=True)
class ByteRange:
    first: int
    last: int  # inclusive

    @property
    def length(self) -> int:
        return self.last - self.first + 1

    def content_range(self, size: int) -> str:
        return f"bytes {self.first}-{self.last}/{size}"


class Unsatisfiable(Exception):
    """A byte range that starts past the end (416, ``Content-Range: bytes */size``)."""


def if_range_holds(headers: Mapping[str, str], etag: str, last_modified: float) -> bool:
    """Whether a Range may be served: no ``If-Range``, or one naming this representation
    (its strong ETag, or exactly its Last-Modified date)."""
    condition = headers.get("if-range")
    if condition is None:
        return True
    if condition.strip().startswith(('"', "W/")):
        return strong_match(condition, etag)
    return _seconds(condition) == float(int(last_modified))


def byte_range(header: str | None, size: int) -> ByteRange | None:
    """The one range of ``bytes`` a ``Range`` header asks for in a representation of
    ``size`` bytes. None (serve it whole) without one, for another unit, several ranges or
    one that cannot be read; Unsatisfiable when it starts at or past the end, or asks for
    the last 0 bytes."""
    if header is None:
        return None
    unit, _, ranges = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in ranges:
        return None
    match = _BYTE_RANGE.fullmatch(ranges.strip())
    if match is None or match.group(1) == match.group(2) == "":
        return None
    first_text, last_text = match.groups()
    if first_text == "":  # the last n bytes
        suffix = int(last_text)
        if suffix == 0 or size == 0:
            raise Unsatisfiable
        return ByteRange(max(0, size - suffix), size - 1)
    first = int(first_text)
    if last_text and int(last_text) < first:
        return None
    if first >= size:
        raise Unsatisfiable
    return ByteRange(first, min(int(last_text or size - 1), size - 1))
