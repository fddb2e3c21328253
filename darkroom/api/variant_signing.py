"""Signed variants (DARKROOM_URL_SIGNING_KEY, docs/security.md "Signed variants"): with the
key set, an output converted on the fly must carry ``signature``, an HMAC of its URL, so
that nobody without the key fills the disk or the CPU with variants of their choosing.
The scheme, shared with the clients, is darkroom/signing/variants.py."""

from __future__ import annotations

from collections.abc import Iterable

from darkroom.api.output_links import LinkRefused
from darkroom.signing.variants import SIGNATURE_PARAM, signature_matches


def check(path: str, params: Iterable[tuple[str, str]], key: str) -> None:
    """Refuse (403 ``invalid_signature``) a request whose ``signature`` is missing or is
    not the one ``key`` gives its path and parameters."""
    pairs = list(params)
    if not any(name == SIGNATURE_PARAM for name, _ in pairs):
        raise LinkRefused(
            "this variant needs a signature: the URL's `signature` parameter "
            '(docs/security.md, "Signed variants")'
        )
    if not signature_matches(key, path, pairs):
        raise LinkRefused("the variant's signature is not valid")
