"""Signed output links (DARKROOM_AUTH=keys): ``…/outputs/{name}?expires=<unix>&sig=<HMAC>``
fetches the output without a key until ``expires``.

The signature is an HMAC-SHA256, under the secret every API process reads from the
database (store/api_keys.py), of the output's path (``/v1/jobs/{id}/outputs/{name}``, as
the app routes it, whatever prefix a proxy adds) and the expiry. It covers the path only:
the conversion parameters (``format``, ``width``, ``quality``) may be added to a signed
link, since they only choose a rendition of the output the link already opens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from darkroom.jobs.errors import ServiceError


class LinkRefused(ServiceError):
    status_code = 403
    code = "invalid_signature"


def output_path(job_id: str, name: str) -> str:
    return f"/v1/jobs/{job_id}/outputs/{name}"


class LinkSigner:
    def __init__(self, secret: bytes, ttl_s: int) -> None:
        self._secret = secret
        self.ttl_s = ttl_s

    def _signature(self, path: str, expires: int) -> str:
        digest = hmac.new(self._secret, f"{path}\n{expires}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def query(self, job_id: str, name: str, *, now: float | None = None) -> str:
        """The query string that opens the output for DARKROOM_OUTPUT_LINK_TTL_S."""
        expires = int(now if now is not None else time.time()) + self.ttl_s
        return f"expires={expires}&sig={self._signature(output_path(job_id, name), expires)}"

    def check(self, job_id: str, name: str, expires: str | None, sig: str | None) -> None:
        """Refuse (403) a link whose signature does not match, or that has expired."""
        try:
            when = int(expires or "")
        except ValueError:
            when = None
        expected = self._signature(output_path(job_id, name), when) if when is not None else ""
        if not sig or not expected or not hmac.compare_digest(sig.encode(), expected.encode()):
            raise LinkRefused("the output link's signature is not valid")
        if when is not None and when < time.time():
            raise LinkRefused("the output link has expired", code="link_expired")
