"""Standard Webhooks signatures: what darkroom sends, the helper receivers use."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from darkroom.webhooks.signing import (
    WebhookVerificationError,
    new_secret,
    secret_key,
    sign,
    signature_headers,
    verify,
)

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


def test_signature_is_hmac_sha256_over_id_timestamp_body() -> None:
    body = b'{"type":"job.succeeded"}'
    expected = hmac.new(
        b"0123456789abcdef0123456789abcdef", b"msg_1.1700000000." + body, hashlib.sha256
    ).digest()
    assert sign(SECRET, "msg_1", 1700000000, body) == "v1," + base64.b64encode(expected).decode()


def test_verify_accepts_its_own_signature_and_refuses_changes() -> None:
    body = b'{"a":1}'
    headers = signature_headers(SECRET, "msg_2", 1700000000, body)
    verify(SECRET, headers, body, now=1700000010)
    verify(SECRET, {k.upper(): v for k, v in headers.items()}, body, now=1700000010)
    with pytest.raises(WebhookVerificationError, match="signature"):
        verify(SECRET, headers, b'{"a":2}', now=1700000010)
    with pytest.raises(WebhookVerificationError, match="signature"):
        verify(new_secret(), headers, body, now=1700000010)
    with pytest.raises(WebhookVerificationError, match="timestamp"):
        verify(SECRET, headers, body, now=1700000000 + 301)
    with pytest.raises(WebhookVerificationError, match="headers"):
        verify(SECRET, {"webhook-id": "x"}, body)


def test_several_signatures_one_matching_passes() -> None:
    body = b"{}"
    headers = signature_headers(SECRET, "msg_3", 1700000000, body)
    headers["webhook-signature"] = "v1,bm90IGl0 " + headers["webhook-signature"]
    verify(SECRET, headers, body, now=1700000000)


@pytest.mark.parametrize("bad", ["0123456789abcdef", "whsec_%%%", "whsec_" + "QUJD"])
def test_secrets_are_whsec_base64_of_enough_bytes(bad: str) -> None:
    with pytest.raises(ValueError):
        secret_key(bad)
    assert len(secret_key(new_secret())) == 24
