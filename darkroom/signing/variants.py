"""Signed variant URLs (DARKROOM_URL_SIGNING_KEY; the scheme is in docs/api.md).

The canonical string of a request is its path exactly as sent, then, when it has query
parameters other than ``signature``, ``?`` and those parameters as
``urllib.parse.urlencode(sorted(pairs))`` writes them. Its ``signature`` is the unpadded
base64url of HMAC-SHA256 over the canonical string (UTF-8), keyed with the key's UTF-8
bytes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

SIGNATURE_PARAM = "signature"

ParamValue = str | int | float | bool


def canonical(path: str, pairs: Iterable[tuple[str, str]]) -> str:
    """What is signed: ``path``, then ``?`` and the sorted pairs other than ``signature``."""
    kept = sorted((name, value) for name, value in pairs if name != SIGNATURE_PARAM)
    return f"{path}?{urlencode(kept)}" if kept else path


def signature(key: str | bytes, path: str, pairs: Iterable[tuple[str, str]]) -> str:
    """The ``signature`` parameter for a request of ``path`` with query ``pairs``."""
    secret = key.encode() if isinstance(key, str) else key
    digest = hmac.new(secret, canonical(path, pairs).encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def signature_matches(key: str | bytes, path: str, pairs: Iterable[tuple[str, str]]) -> bool:
    """Whether ``pairs`` carry exactly one ``signature``, and the right one, for ``path``."""
    listed = list(pairs)
    offered = [value for name, value in listed if name == SIGNATURE_PARAM]
    if len(offered) != 1:
        return False
    return hmac.compare_digest(offered[0].encode(), signature(key, path, listed).encode())


def query_value(value: ParamValue) -> str:
    """A parameter's value as a URL carries it (booleans as ``true``/``false``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def sign_variant_url(url_or_path: str, params: Mapping[str, ParamValue], key: str | bytes) -> str:
    """``url_or_path`` (an output's URL, absolute or a path, with any query it has, such
    as a signed link's ``expires`` and ``sig``) with ``params`` added, replacing
    parameters of the same name, and a ``signature`` over the whole."""
    parts = urlsplit(url_or_path)
    pairs = [
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if name not in params and name != SIGNATURE_PARAM
    ]
    pairs += [(name, query_value(value)) for name, value in params.items()]
    pairs.sort()
    pairs.append((SIGNATURE_PARAM, signature(key, parts.path, pairs)))
    return urlunsplit(parts._replace(query=urlencode(pairs)))
