"""Checking a webhook delivery darkroom sent, with darkroom's own verification code
(darkroom/webhooks/signing.py: Standard Webhooks, standard library only)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from darkroom.webhooks.signing import DEFAULT_TOLERANCE_S, verify


def verify_webhook(
    body: bytes | str,
    headers: Mapping[str, str],
    secret: str,
    *,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
) -> Any:
    """The delivery's event, once its signature and timestamp are checked.

    ``body``: the request body exactly as received, before any parsing; ``headers``: its
    headers (any letter case); ``secret``: DARKROOM_WEBHOOK_SECRET (``whsec_…``). Raises
    WebhookVerificationError unless one of its signatures matches and it was signed within
    ``tolerance_s`` seconds of now."""
    raw = body.encode() if isinstance(body, str) else body
    verify(secret, headers, raw, tolerance_s=tolerance_s)
    return json.loads(raw)
